import type { BuildInputs } from '../buildInputs/spec';

/** Pure: `linux/arm/v7` → `linux-arm-v7`, for names and tags. */
export function platformSlug(platform: string): string {
  return platform.replace(/\//g, '-');
}

/**
 * Pure: the registry cache ref of one platform, so that platforms never overwrite each other's cache:
 * the ref's tag with the platform appended (`app:buildcache` → `app:buildcache-linux-arm64`); a ref
 * without a tag gets `latest-<platform>`. (The branch-cache scheme may replace this.)
 */
export function platformCacheRef(ref: string, platform: string): string {
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  const hasTag = colon > slash;
  const name = hasTag ? ref.slice(0, colon) : ref;
  const tag = hasTag ? ref.slice(colon + 1) : 'latest';
  return `${name}:${tag}-${platformSlug(platform)}`;
}

/**
 * Pure: the inputs of one platform's build in a split build: that platform only, its own cache ref, and
 * an image pushed by digest without tags (the merged index gets the tags).
 */
export function platformInputs(inputs: BuildInputs, platform: string): BuildInputs {
  return {
    ...inputs,
    platforms: [platform],
    image: { ...inputs.image, refs: [], pushByDigest: true },
    cache:
      inputs.cache.kind === 'registry'
        ? { ...inputs.cache, ref: platformCacheRef(inputs.cache.ref, platform) }
        : inputs.cache,
  };
}
