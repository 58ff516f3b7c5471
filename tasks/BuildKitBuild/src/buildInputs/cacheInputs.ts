import type { RunContext } from '../context';
import type { InputName } from '../inputs';
import { parsePick, type Report } from './fields';
import { csvPairs, numberedLines } from './inputText';
import { parseReference, splitName } from './reference';

export type CacheMode = 'min' | 'max';

/** The registry cache (`--import-cache`/`--export-cache type=registry,ref=...`), or none. */
export type CacheSpec =
  { readonly kind: 'registry'; readonly ref: string; readonly mode: CacheMode } | { readonly kind: 'none' };

export interface CacheInputs {
  readonly cache: CacheSpec;
  /** Raw `--import-cache` values, as typed. */
  readonly cacheFrom: readonly string[];
  /** Raw `--export-cache` values, as typed. */
  readonly cacheTo: readonly string[];
}

/**
 * The cache reference: as typed when it names a registry; a name without a registry lives in the task's
 * registry (like `repository`); empty: `<image name>:buildcache`.
 */
function parseCacheRef(
  raw: string,
  imageName: string | undefined,
  registryHost: string | undefined,
  ctx: RunContext,
  report: Report,
): string | undefined {
  const value = raw.trim();
  if (value === '') return imageName === undefined ? undefined : `${imageName}:buildcache`;
  const parsed = parseReference(value);
  if (typeof parsed === 'string' || parsed.digest !== undefined) {
    report('cacheRef', ctx.loc('BuildCacheRefInvalid', value));
    return undefined;
  }
  if (registryHost !== undefined && splitName(parsed.name).domain === undefined) {
    return `${registryHost}/${value}`;
  }
  return value;
}

/** `type=...,key=value,...` lines (buildctl's CSV syntax); `type` is required. */
export function parseCacheLines(input: InputName, raw: string, ctx: RunContext, report: Report): string[] {
  const lines: string[] = [];
  for (const { line, text } of numberedLines(raw)) {
    const pairs = csvPairs(text);
    if (pairs === undefined) report(input, ctx.loc('BuildCacheLineSyntax', text), line);
    else if (!pairs.some((p) => p.key === 'type' && p.value !== ''))
      report(input, ctx.loc('BuildCacheLineType', text), line);
    else lines.push(text);
  }
  return lines;
}

export function parseCacheInputs(
  raw: { cache: string; cacheRef: string; cacheMode: string; cacheFrom: string; cacheTo: string },
  imageName: string | undefined,
  registryHost: string | undefined,
  ctx: RunContext,
  report: Report,
): CacheInputs {
  const kind = parsePick('cache', raw.cache, ['registry', 'none'] as const, 'registry', ctx, report);
  const mode = parsePick('cacheMode', raw.cacheMode, ['min', 'max'] as const, 'max', ctx, report);
  const ref = parseCacheRef(raw.cacheRef, imageName, registryHost, ctx, report);
  const cacheFrom = parseCacheLines('cacheFrom', raw.cacheFrom, ctx, report);
  const cacheTo = parseCacheLines('cacheTo', raw.cacheTo, ctx, report);
  const cache: CacheSpec =
    kind === 'registry' && ref !== undefined ? { kind: 'registry', ref, mode } : { kind: 'none' };
  return { cache, cacheFrom, cacheTo };
}
