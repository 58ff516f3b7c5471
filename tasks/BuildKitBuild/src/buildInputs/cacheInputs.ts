import type { RunContext } from '../core/context';
import type { InputName } from '../core/inputs';
import {
  branchCacheRefs,
  MAX_TAG_LENGTH,
  maxScopedCacheTagLength,
  planScopes,
  platformTagPart,
  type BranchFacts,
  type CacheBase,
  type ScopePlan,
} from './branchCache';
import { parsePick, type Report } from './fields';
import { csvField, csvPairs, numberedLines } from './inputText';
import { parseReference, splitName } from './reference';

export type CacheMode = 'min' | 'max';

/** The tag of the default cache ref, `<image name>:buildcache`. */
export const DEFAULT_CACHE_TAG = 'buildcache';

/**
 * The registry cache (`--import-cache`/`--export-cache type=registry,ref=...`), or none.
 * `imports` are tried in order; `export` is the only ref written. With branch scoping, `base` and `plan`
 * give the refs for any platform again (`branchCacheRefs(base, plan, platform)`); an exact cacheRef has no
 * plan.
 */
export type CacheSpec =
  | {
      readonly kind: 'registry';
      readonly mode: CacheMode;
      readonly imports: readonly string[];
      readonly export: string;
      readonly base: CacheBase;
      readonly plan: ScopePlan | undefined;
    }
  | { readonly kind: 'none' };

export interface CacheInputs {
  readonly cache: CacheSpec;
  /** `--import-cache` values, as validated: keys trimmed and lowercased, values trimmed. */
  readonly cacheFrom: readonly string[];
  /** `--export-cache` values, as validated. */
  readonly cacheTo: readonly string[];
}

const CACHE_KINDS = ['registry', 'branch', 'none'] as const;

/** The explicit cacheRef, completed with the task's registry, split into name and tag; undefined when empty or bad. */
function parseCacheRef(
  raw: string,
  registryHost: string | undefined,
  ctx: RunContext,
  report: Report,
): { base: CacheBase; ref: string } | 'empty' | undefined {
  const value = raw.trim();
  if (value === '') return 'empty';
  const parsed = parseReference(value);
  if (typeof parsed === 'string' || parsed.digest !== undefined) {
    report('cacheRef', ctx.loc('BuildCacheRefInvalid', value));
    return undefined;
  }
  const name =
    registryHost !== undefined && splitName(parsed.name).domain === undefined
      ? `${registryHost}/${parsed.name}`
      : parsed.name;
  const ref = parsed.tag === undefined ? name : `${name}:${parsed.tag}`;
  return { base: { name, tag: parsed.tag ?? 'latest' }, ref };
}

/**
 * `type=...,key=value,...` lines (buildctl's CSV syntax); `type` is required. Returns each line as it was
 * validated (buildctl itself neither trims keys nor values), re-encoded as CSV.
 */
export function parseCacheLines(input: InputName, raw: string, ctx: RunContext, report: Report): string[] {
  const lines: string[] = [];
  for (const { line, text } of numberedLines(raw)) {
    const pairs = csvPairs(text);
    if (pairs === undefined) report(input, ctx.loc('BuildCacheLineSyntax', text), line);
    else if (!pairs.some((p) => p.key === 'type' && p.value !== ''))
      report(input, ctx.loc('BuildCacheLineType', text), line);
    else lines.push(pairs.map((p) => csvField(`${p.key}=${p.value}`)).join(','));
  }
  return lines;
}

export function parseCacheInputs(
  raw: { cache: string; cacheRef: string; cacheMode: string; cacheFrom: string; cacheTo: string },
  imageName: string | undefined,
  registryHost: string | undefined,
  platforms: readonly string[],
  facts: BranchFacts,
  ctx: RunContext,
  report: Report,
): CacheInputs {
  const kind = parsePick('cache', raw.cache, CACHE_KINDS, 'registry', ctx, report);
  const mode = parsePick('cacheMode', raw.cacheMode, ['min', 'max'] as const, 'max', ctx, report);
  const explicit = parseCacheRef(raw.cacheRef, registryHost, ctx, report);
  const cacheFrom = parseCacheLines('cacheFrom', raw.cacheFrom, ctx, report);
  const cacheTo = parseCacheLines('cacheTo', raw.cacheTo, ctx, report);
  if (kind === 'none' || explicit === undefined) return { cache: { kind: 'none' }, cacheFrom, cacheTo };
  if (explicit !== 'empty' && kind === 'registry') {
    // An explicit cacheRef is used exactly as given unless `cache: branch` asks for branch scoping.
    const { ref, base } = explicit;
    // A split multi-platform build appends `-<platform>` to its tag (platformInputs.ts): that must fit too.
    if (platforms.length >= 2) {
      const maxTag = MAX_TAG_LENGTH - Math.max(...platforms.map((p) => platformTagPart(p).length + 1));
      if (base.tag.length > maxTag) {
        report('cacheRef', ctx.loc('BuildCacheRefTagTooLongPlatforms', base.tag, base.tag.length, maxTag));
        return { cache: { kind: 'none' }, cacheFrom, cacheTo };
      }
    }
    return {
      cache: { kind: 'registry', mode, imports: [ref], export: ref, base, plan: undefined },
      cacheFrom,
      cacheTo,
    };
  }
  if (explicit === 'empty' && imageName === undefined) return { cache: { kind: 'none' }, cacheFrom, cacheTo };
  const base: CacheBase =
    explicit === 'empty' ? { name: imageName ?? '', tag: DEFAULT_CACHE_TAG } : explicit.base;
  const maxTag = maxScopedCacheTagLength(platforms);
  if (base.tag.length > maxTag) {
    report('cacheRef', ctx.loc('BuildCacheRefTagTooLong', base.tag, base.tag.length, maxTag));
    return { cache: { kind: 'none' }, cacheFrom, cacheTo };
  }
  const plan = planScopes(facts);
  const refs = branchCacheRefs(base, plan);
  return {
    cache: { kind: 'registry', mode, imports: refs.imports, export: refs.export, base, plan },
    cacheFrom,
    cacheTo,
  };
}
