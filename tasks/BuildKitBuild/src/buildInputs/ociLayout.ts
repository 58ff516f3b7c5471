import * as fs from 'node:fs';
import * as path from 'node:path';
import { isValidDigest, isValidTag } from './reference';

/**
 * A named context from a local OCI image layout, as users write it (docker buildx's form):
 * `oci-layout://<directory>[:<tag>|@<digest>]`. BuildKit itself wants something else: the client lends
 * the directory as a content store (`buildctl build --oci-layout <id>=<directory>`) and the context names
 * an image in it by digest (`context:<name>=oci-layout://<id>@<digest>`; the Dockerfile frontend refuses
 * a reference without a digest), so the task resolves a tag to its digest from the layout's index.json.
 */
export interface OciLayoutReference {
  readonly dir: string;
  /** The tag to look up in index.json, when no digest is given (default `latest`). */
  readonly tag: string;
  readonly digest: string | undefined;
}

/** The annotation OCI image layouts give a manifest's tag in index.json. */
const REF_NAME = 'org.opencontainers.image.ref.name';
/** The full image name containerd and BuildKit's exporters add next to it. */
const CONTAINERD_NAME = 'io.containerd.image.name';

/**
 * Pure: splits what follows `oci-layout://` into the directory (resolved against `workDir`), the tag and
 * the digest. The tag is the text after the last `:` that follows the last path separator, the digest what
 * follows the last `@`. Undefined when the directory is empty or the tag or digest is malformed.
 */
export function parseOciLayoutReference(text: string, workDir: string): OciLayoutReference | undefined {
  let rest = text;
  let digest: string | undefined;
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!isValidDigest(digest)) return undefined;
  }
  let tag = 'latest';
  const colon = rest.lastIndexOf(':');
  const separator = Math.max(rest.lastIndexOf('/'), rest.lastIndexOf('\\'));
  // `C:\layouts\app` keeps its drive letter.
  if (colon > separator && !(colon === 1 && /^[A-Za-z]:/.test(rest))) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!isValidTag(tag)) return undefined;
  }
  if (rest === '') return undefined;
  return { dir: path.resolve(workDir, rest), tag, digest };
}

export type OciLayoutResolution =
  | { readonly ok: true; readonly digest: string }
  | { readonly ok: false; readonly problem: 'not-layout' }
  | { readonly ok: false; readonly problem: 'no-blob'; readonly digest: string }
  | { readonly ok: false; readonly problem: 'no-tag'; readonly tags: readonly string[] };

interface IndexEntry {
  readonly digest?: unknown;
  readonly annotations?: Readonly<Record<string, unknown>>;
}

function readIndex(dir: string): readonly IndexEntry[] | undefined {
  try {
    const index = JSON.parse(fs.readFileSync(path.join(dir, 'index.json'), 'utf8')) as {
      manifests?: unknown;
    };
    return Array.isArray(index.manifests) ? (index.manifests as IndexEntry[]) : undefined;
  } catch {
    return undefined;
  }
}

/** The tag a manifest of index.json carries: its ref.name annotation, or the tag of its full name. */
function tagsOf(entry: IndexEntry): string[] {
  const tags: string[] = [];
  for (const key of [REF_NAME, CONTAINERD_NAME]) {
    const value = entry.annotations?.[key];
    if (typeof value !== 'string' || value === '') continue;
    const colon = value.lastIndexOf(':');
    tags.push(colon > value.lastIndexOf('/') ? value.slice(colon + 1) : value);
  }
  return tags;
}

/**
 * Reads the layout: the digest to build from, checked to be a blob of the layout; or why there is none.
 */
export function resolveOciLayout(reference: OciLayoutReference): OciLayoutResolution {
  const manifests = readIndex(reference.dir);
  if (manifests === undefined) return { ok: false, problem: 'not-layout' };
  let digest = reference.digest;
  if (digest === undefined) {
    const found = manifests.find((m) => tagsOf(m).includes(reference.tag));
    if (found === undefined || typeof found.digest !== 'string' || !isValidDigest(found.digest)) {
      const tags = [...new Set(manifests.flatMap(tagsOf))];
      return { ok: false, problem: 'no-tag', tags };
    }
    digest = found.digest;
  }
  const [algorithm = '', hex = ''] = digest.split(':');
  const blob = path.join(reference.dir, 'blobs', algorithm, hex);
  if (!fs.existsSync(blob)) return { ok: false, problem: 'no-blob', digest };
  return { ok: true, digest };
}
