import { createHash } from 'node:crypto';
import { isIndexType, isManifestType, OCI_INDEX, REFERENCE_TYPE } from './mediaTypes';

/** An OCI platform, in the image spec's field order. */
export interface OciPlatform {
  readonly architecture: string;
  readonly os: string;
  readonly variant?: string;
}

/** An OCI content descriptor, in the image spec's field order. */
export interface OciDescriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly platform?: OciPlatform;
}

/** What one platform's build pushed by digest, as read back from the registry. */
export interface PushedPlatform {
  /** The requested platform, `os/arch[/variant]`. */
  readonly platform: string;
  /** The root the build pushed: its media type, digest and size. */
  readonly descriptor: OciDescriptor;
  /** The root's JSON: an image manifest, or an index holding the image and its attestation manifests. */
  readonly manifest: unknown;
  /** Platform of an image config, by config digest, for manifests whose entry carries none. */
  readonly configPlatforms: ReadonlyMap<string, OciPlatform>;
}

/** The merged index: the exact bytes to PUT, and their digest. */
export interface MergedIndex {
  readonly json: string;
  readonly digest: string;
  readonly size: number;
  readonly manifests: readonly OciDescriptor[];
}

/** Why a pushed manifest cannot be merged; `platform` names the build it came from. */
export class MergeError extends Error {
  constructor(
    readonly platform: string,
    readonly reason: string,
  ) {
    super(`${platform}: ${reason}`);
  }
}

const DIGEST = /^sha256:[0-9a-f]{64}$/;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Pure: `linux/arm/v7` → { architecture: 'arm', os: 'linux', variant: 'v7' }. */
export function parsePlatform(platform: string): OciPlatform {
  const [os = '', architecture = '', variant] = platform.split('/');
  return variant === undefined ? { architecture, os } : { architecture, os, variant };
}

/** Pure: the platform of an image config blob (`architecture`, `os`, `variant`), if it names one. */
export function configPlatform(config: unknown): OciPlatform | undefined {
  return platformOf(config);
}

function platformOf(value: unknown): OciPlatform | undefined {
  if (!isRecord(value) || typeof value.architecture !== 'string' || typeof value.os !== 'string')
    return undefined;
  const variant = typeof value.variant === 'string' && value.variant !== '' ? value.variant : undefined;
  return variant === undefined
    ? { architecture: value.architecture, os: value.os }
    : { architecture: value.architecture, os: value.os, variant };
}

function annotationsOf(value: unknown): Record<string, string> | undefined {
  if (!isRecord(value)) return undefined;
  const entries = Object.entries(value).filter((e): e is [string, string] => typeof e[1] === 'string');
  return entries.length > 0 ? Object.fromEntries(entries) : undefined;
}

function descriptorOf(value: unknown, platform: string): OciDescriptor {
  if (!isRecord(value)) throw new MergeError(platform, 'an index entry is not an object');
  const { mediaType, digest, size } = value;
  if (typeof mediaType !== 'string' || typeof digest !== 'string' || !DIGEST.test(digest)) {
    throw new MergeError(platform, 'an index entry has no media type or sha256 digest');
  }
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    throw new MergeError(platform, `the index entry ${digest} has no valid size`);
  }
  const annotations = annotationsOf(value.annotations);
  const entryPlatform = platformOf(value.platform);
  return {
    mediaType,
    digest,
    size,
    ...(annotations === undefined ? {} : { annotations }),
    ...(entryPlatform === undefined ? {} : { platform: entryPlatform }),
  };
}

/** The platform of an image manifest: its config blob's, else the platform its build was asked for. */
function imagePlatform(pushed: PushedPlatform, manifest: unknown): OciPlatform {
  const config = isRecord(manifest) && isRecord(manifest.config) ? manifest.config.digest : undefined;
  const fromConfig = typeof config === 'string' ? pushed.configPlatforms.get(config) : undefined;
  return fromConfig ?? parsePlatform(pushed.platform);
}

const isAttestation = (d: OciDescriptor): boolean => d.annotations?.[REFERENCE_TYPE] !== undefined;

/** Pure: the entries one platform contributes: its image manifest(s), then its attestation manifests. */
export function platformEntries(pushed: PushedPlatform): {
  images: OciDescriptor[];
  attestations: OciDescriptor[];
} {
  const root = pushed.descriptor;
  if (isManifestType(root.mediaType)) {
    const image = { mediaType: root.mediaType, digest: root.digest, size: root.size };
    return { images: [{ ...image, platform: imagePlatform(pushed, pushed.manifest) }], attestations: [] };
  }
  if (!isIndexType(root.mediaType)) {
    throw new MergeError(
      pushed.platform,
      `${root.digest} is a ${root.mediaType}, not an image manifest or index`,
    );
  }
  const list = isRecord(pushed.manifest) ? pushed.manifest.manifests : undefined;
  if (!Array.isArray(list))
    throw new MergeError(pushed.platform, `the index ${root.digest} lists no manifests`);
  const entries = list.map((entry) => descriptorOf(entry, pushed.platform));
  const images = entries
    .filter((d) => !isAttestation(d))
    .map((d) => (d.platform === undefined ? { ...d, platform: parsePlatform(pushed.platform) } : d));
  if (images.length === 0)
    throw new MergeError(pushed.platform, `the index ${root.digest} holds no image manifest`);
  return { images, attestations: entries.filter(isAttestation) };
}

/**
 * Pure: one OCI image index from what each platform's build pushed. Every platform's image manifests
 * first (in the order of the platforms), then the attestation manifests with their
 * `vnd.docker.reference.*` annotations, as BuildKit lays out a multi-platform index. An entry that two
 * builds share (same descriptor) is listed once. Serialised with two-space indentation, like BuildKit.
 */
export function mergeIndex(pushed: readonly PushedPlatform[]): MergedIndex {
  const images: OciDescriptor[] = [];
  const attestations: OciDescriptor[] = [];
  /** `os/arch[/variant]` of each image so far → its digest and the build that pushed it. */
  const claimed = new Map<string, { digest: string; build: string }>();
  for (const one of pushed) {
    const entries = platformEntries(one);
    for (const entry of entries.images) {
      const p = entry.platform;
      const key = p === undefined ? '' : [p.os, p.architecture, p.variant ?? ''].join('/');
      const earlier = claimed.get(key);
      if (earlier !== undefined && earlier.digest !== entry.digest) {
        // A daemon that ignored --opt platform=: the index would hold one platform twice, another never.
        throw new MergeError(
          one.platform,
          `its image ${entry.digest} is for the same platform (${key.replace(/\/$/, '')}) as the image ${earlier.digest} of the build of ${earlier.build}`,
        );
      }
      claimed.set(key, { digest: entry.digest, build: one.platform });
    }
    images.push(...entries.images);
    attestations.push(...entries.attestations);
  }
  const seen = new Set<string>();
  const manifests = [...images, ...attestations].filter((d) => {
    const key = JSON.stringify(d);
    return !seen.has(key) && seen.add(key);
  });
  const json = JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests }, null, 2);
  const bytes = Buffer.from(json, 'utf8');
  return {
    json,
    digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`,
    size: bytes.length,
    manifests,
  };
}
