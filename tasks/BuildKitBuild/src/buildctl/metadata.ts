import * as fs from 'node:fs';

/** What the task reads from buildctl's `--metadata-file`. */
export interface BuildMetadata {
  /** `sha256:...` of the image manifest or index, when an image was produced. */
  readonly digest: string | undefined;
  /** `image.name`: the names the image exporter used, comma separated there. */
  readonly imageNames: readonly string[];
}

const DIGEST = /^sha256:[0-9a-f]{64}$/;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function digestOf(value: unknown): string | undefined {
  return typeof value === 'string' && DIGEST.test(value) ? value : undefined;
}

/**
 * Pure: the metadata JSON as buildctl writes it (`containerimage.digest`, `containerimage.descriptor`,
 * `image.name`, ...). Unknown keys are ignored; a malformed file throws.
 */
export function parseBuildMetadata(text: string): BuildMetadata {
  const json: unknown = JSON.parse(text);
  if (!isRecord(json)) throw new Error('the metadata file does not hold a JSON object');
  const descriptor = isRecord(json['containerimage.descriptor']) ? json['containerimage.descriptor'] : {};
  const names = typeof json['image.name'] === 'string' ? json['image.name'] : '';
  return {
    digest: digestOf(json['containerimage.digest']) ?? digestOf(descriptor.digest),
    imageNames: names
      .split(',')
      .map((n) => n.trim())
      .filter((n) => n !== ''),
  };
}

/** The metadata file's content, or undefined when buildctl did not write one. */
export function readBuildMetadata(file: string): BuildMetadata | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  return parseBuildMetadata(text);
}
