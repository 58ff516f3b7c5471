import { branchCacheRefs, platformTagPart } from '../buildInputs/branchCache';
import type { CacheSpec } from '../buildInputs/cacheInputs';
import type { BuildInputs } from '../buildInputs/spec';

/**
 * Pure: an exact registry cache ref made per platform, so that platforms never overwrite each other's
 * cache: the ref's tag with the platform appended (`app:buildcache` → `app:buildcache-linux-arm64`); a ref
 * without a tag gets `latest-<platform>`.
 */
export function platformCacheRef(ref: string, platform: string): string {
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  const hasTag = colon > slash;
  const name = hasTag ? ref.slice(0, colon) : ref;
  const tag = hasTag ? ref.slice(colon + 1) : 'latest';
  return `${name}:${tag}-${platformTagPart(platform)}`;
}

/**
 * Pure: the registry cache of one platform. A branch-scoped cache composes its refs again with the
 * platform part last (`buildcache-<branch>-linux-arm64`, see branchCache.ts); an exact cacheRef gets the
 * platform appended to its tag.
 */
export function platformCache(cache: CacheSpec, platform: string): CacheSpec {
  if (cache.kind !== 'registry') return cache;
  if (cache.plan !== undefined) return { ...cache, ...branchCacheRefs(cache.base, cache.plan, platform) };
  return {
    ...cache,
    imports: cache.imports.map((ref) => platformCacheRef(ref, platform)),
    export: platformCacheRef(cache.export, platform),
  };
}

/**
 * Pure: the inputs of one platform's build in a split build: that platform only, its own cache refs, and
 * an image pushed by digest without tags (the merged index gets the tags).
 */
export function platformInputs(inputs: BuildInputs, platform: string): BuildInputs {
  return {
    ...inputs,
    platforms: [platform],
    image: { ...inputs.image, refs: [], pushByDigest: true },
    cache: platformCache(inputs.cache, platform),
  };
}
