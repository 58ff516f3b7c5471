/** The BuildKit release installed when `buildctlVersion` is empty and no buildctl is on PATH. */
export const DEFAULT_BUILDKIT_VERSION = '0.32.2';

/** A BuildKit release as the user asked for it. */
export interface RequestedVersion {
  /** Without the leading `v`, e.g. `0.32.2` or `0.33.0-rc1`. */
  readonly version: string;
  /** Lowercase hex SHA-256 the release archive must have, when pinned. */
  readonly sha256: string | undefined;
}

const VERSION = /^v?(\d+\.\d+\.\d+(?:-[0-9A-Za-z.]+)?)$/;
const DIGEST = /^sha256:([0-9a-fA-F]{64})$/;

/**
 * Parses `0.32.2`, `v0.32.2` or `0.32.2@sha256:<64 hex>`; undefined when the text is none of these.
 * Pre-release suffixes (`0.33.0-rc1`) are accepted because upstream publishes them the same way.
 */
export function parseRequestedVersion(text: string): RequestedVersion | undefined {
  const at = text.indexOf('@');
  const versionPart = at < 0 ? text : text.slice(0, at);
  const digestPart = at < 0 ? undefined : text.slice(at + 1);
  const version = VERSION.exec(versionPart)?.[1];
  if (version === undefined) return undefined;
  if (digestPart === undefined) return { version, sha256: undefined };
  const sha256 = DIGEST.exec(digestPart)?.[1];
  return sha256 === undefined ? undefined : { version, sha256: sha256.toLowerCase() };
}

/**
 * The version in `buildctl --version` output (`buildctl github.com/moby/buildkit v0.32.2 <commit>`),
 * without the leading `v`; undefined when the output does not look like that.
 */
export function parseBuildctlVersionOutput(output: string): string | undefined {
  const match = /\bbuildctl\s+\S+\s+v?(\d+\.\d+\.\d+(?:-[0-9A-Za-z.]+)?)\b/.exec(output);
  return match?.[1];
}
