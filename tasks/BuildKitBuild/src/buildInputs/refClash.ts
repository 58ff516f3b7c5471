import { csvPairs, numberedLines } from './inputText';
import { normalizeName, parseReference } from './reference';

/** A registry cache reference and the input it comes from. */
export interface CacheRefSource {
  readonly ref: string;
  /** `cacheRef` (also for the default `<image>:buildcache`) or `cacheTo` with its line. */
  readonly input: 'cacheRef' | 'cacheTo';
  readonly line?: number;
}

/**
 * `name:tag` in one canonical spelling (Docker Hub's short names expanded, the registry host in lowercase,
 * `latest` when no tag), or undefined for what is not an image reference.
 */
export function canonicalRef(text: string): string | undefined {
  const parsed = parseReference(text.trim());
  if (typeof parsed === 'string' || parsed.digest !== undefined) return undefined;
  const name = normalizeName(parsed.name);
  const slash = name.indexOf('/');
  const host = slash < 0 ? name : name.slice(0, slash).toLowerCase();
  return `${host}${slash < 0 ? '' : name.slice(slash)}:${parsed.tag ?? 'latest'}`;
}

/**
 * The `ref=` of every `type=registry` line of cacheTo (the exports that could overwrite a tag). Those lines
 * reach buildctl as typed, so a ref without a registry is Docker Hub's, as BuildKit reads it.
 */
export function cacheToRegistryRefs(raw: string): CacheRefSource[] {
  const refs: CacheRefSource[] = [];
  for (const { line, text } of numberedLines(raw)) {
    const pairs = csvPairs(text);
    if (pairs?.some((p) => p.key.trim() === 'type' && p.value.trim() === 'registry') !== true) continue;
    const ref = pairs.find((p) => p.key.trim() === 'ref')?.value.trim();
    if (ref === undefined || ref === '') continue;
    refs.push({ ref, input: 'cacheTo', line });
  }
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
