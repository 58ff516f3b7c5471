import { csvPairs, numberedLines } from './inputText';
import { DOCKER_HUB, normalizeName, parseReference } from './reference';

/** A registry cache reference and the input it comes from. */
export interface CacheRefSource {
  readonly ref: string;
  /** `cacheRef` (also for the default `<image>:buildcache`), `cacheTo` with its line, or `extraArgs`. */
  readonly input: 'cacheRef' | 'cacheTo' | 'extraArgs';
  readonly line?: number;
}

/**
 * Other names of Docker Hub's registry: distribution's reference normalisation reads `index.docker.io` as
 * `docker.io`, and containerd's resolver sends `docker.io` to `registry-1.docker.io`.
 */
const DOCKER_HUB_ALIASES: ReadonlySet<string> = new Set(['index.docker.io', 'registry-1.docker.io']);

/**
 * `name:tag` in one canonical spelling (Docker Hub's short names and other host names expanded to
 * `docker.io/library/…`, the registry host in lowercase, `latest` when no tag), or undefined for what is
 * not an image reference.
 */
export function canonicalRef(text: string): string | undefined {
  const parsed = parseReference(text.trim());
  if (typeof parsed === 'string' || parsed.digest !== undefined) return undefined;
  const name = normalizeName(parsed.name);
  const slash = name.indexOf('/');
  const lowerHost = name.slice(0, slash).toLowerCase();
  const host = DOCKER_HUB_ALIASES.has(lowerHost) ? DOCKER_HUB : lowerHost;
  const path = name.slice(slash + 1);
  // Under Docker Hub a one-component path is an official image's: `docker.io/app` is `docker.io/library/app`.
  const hubPath = host === DOCKER_HUB && !path.includes('/') ? `library/${path}` : path;
  return `${host}/${hubPath}:${parsed.tag ?? 'latest'}`;
}

/**
 * The `ref=` of every `type=registry` line of cacheTo (the exports that could overwrite a tag). Those lines
 * reach buildctl as typed, so a ref without a registry is Docker Hub's, as BuildKit reads it.
 */
export function cacheToRegistryRefs(raw: string): CacheRefSource[] {
  const refs: CacheRefSource[] = [];
  for (const { line, text } of numberedLines(raw)) {
    const ref = registryRefOf(text);
    if (ref !== undefined) refs.push({ ref, input: 'cacheTo', line });
  }
  return refs;
}

/** The `ref=` of a `type=registry` cache export's `key=value,…` text, when it has one. */
function registryRefOf(text: string): string | undefined {
  const pairs = csvPairs(text);
  if (pairs?.some((p) => p.key.trim() === 'type' && p.value.trim() === 'registry') !== true) return undefined;
  const ref = pairs.find((p) => p.key.trim() === 'ref')?.value.trim();
  return ref === undefined || ref === '' ? undefined : ref;
}

/** `--export-cache`, as buildctl's flag parser takes it: one or two dashes, the value next or after `=`. */
const EXPORT_CACHE_FLAG = /^--?export-cache(?:=([^]*))?$/;

/**
 * The `ref=` of every `type=registry` `--export-cache` among extraArgs' words: those reach buildctl as they
 * are, after the task's own flags, and overwrite a tag they name as surely as a cacheTo line does.
 */
export function extraArgsRegistryRefs(words: readonly string[]): CacheRefSource[] {
  const refs: CacheRefSource[] = [];
  words.forEach((word, index) => {
    const flag = EXPORT_CACHE_FLAG.exec(word);
    if (flag === null) return;
    const value = flag[1] ?? words[index + 1];
    const ref = value === undefined ? undefined : registryRefOf(value);
    if (ref !== undefined) refs.push({ ref, input: 'extraArgs' });
  });
  return refs;
}

/**
 * Pure: image refs that a cache export would overwrite (BuildKit pushes the cache manifest to the cache
 * ref, replacing the image that tag named), each with the cache input that names it.
 */
export function imageRefsClashingWithCache(
  imageRefs: readonly string[],
  cacheRefs: readonly CacheRefSource[],
): { imageRef: string; cache: CacheRefSource }[] {
  const clashes: { imageRef: string; cache: CacheRefSource }[] = [];
  const images = new Map(imageRefs.map((r) => [canonicalRef(r), r]));
  for (const cache of cacheRefs) {
    const imageRef = images.get(canonicalRef(cache.ref));
    if (imageRef !== undefined) clashes.push({ imageRef, cache });
  }
  return clashes;
}
