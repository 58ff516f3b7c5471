import type { CacheScope } from '../buildInputs/branchCache';
import type { CacheSpec } from '../buildInputs/cacheInputs';
import type { RunContext } from '../core/context';
import type { Localize } from '../core/localize';
import { parsePlainLine } from './progress';

/** What BuildKit said of one `--import-cache` source: its manifest was loaded, absent, or failed. */
export type CacheImportState = 'found' | 'missing' | 'failed' | 'notReached';

export interface CacheImportResult {
  readonly ref: string;
  readonly state: CacheImportState;
  /** BuildKit's error, for `failed`. */
  readonly error?: string | undefined;
}

/** The cache part of the summary. */
export interface CacheSummary {
  readonly imports: readonly CacheImportResult[];
  /** Where the registry cache was exported; undefined when nothing was (push false). */
  readonly exportRef: string | undefined;
  readonly exportFailed: boolean;
}

const IMPORT_VERTEX = 'importing cache manifest from ';

/**
 * Follows buildctl's plain progress for the registry cache imports. BuildKit runs one vertex per import,
 * `#N importing cache manifest from <ref>`, ending `#N DONE` when the manifest was loaded or
 * `#N ERROR: failed to configure registry cache importer: <ref>: not found` when there is none. It does not
 * say which source a CACHED step came from.
 */
export class CacheImportTracker {
  private readonly vertices = new Map<number, string>();
  private readonly states = new Map<string, { state: CacheImportState; error?: string }>();

  observe(line: string): void {
    const parsed = parsePlainLine(line);
    if (parsed.kind === 'vertex') {
      if (parsed.text.startsWith(IMPORT_VERTEX) && !this.vertices.has(parsed.vertex)) {
        this.vertices.set(parsed.vertex, parsed.text.slice(IMPORT_VERTEX.length));
      } else if (parsed.text.startsWith('DONE') && this.vertices.has(parsed.vertex)) {
        const ref = this.vertices.get(parsed.vertex) ?? '';
        if (!this.states.has(ref)) this.states.set(ref, { state: 'found' });
      }
    } else if (parsed.kind === 'error') {
      const ref = this.vertices.get(parsed.vertex);
      if (ref === undefined) return;
      const missing = /: not found$/.test(parsed.text);
      this.states.set(ref, missing ? { state: 'missing' } : { state: 'failed', error: parsed.text });
    }
  }

  /** The state of each ref asked for, in the order given. */
  results(refs: readonly string[]): CacheImportResult[] {
    return refs.map((ref) => {
      const seen = this.states.get(ref);
      return seen === undefined
        ? { ref, state: 'notReached' }
        : { ref, state: seen.state, ...(seen.error === undefined ? {} : { error: seen.error }) };
    });
  }
}

function describeScope(scope: CacheScope, loc: Localize): string {
  switch (scope.kind) {
    case 'default':
      return loc('RunCacheScopeDefault');
    case 'branch':
      return loc('RunCacheScopeBranch', scope.branch);
    case 'pullRequest':
      return loc('RunCacheScopePullRequest', scope.number);
    case 'tags':
      return loc('RunCacheScopeTags');
  }
}

/** Where the registry cache of this build comes from and goes to; undefined for no registry cache. */
export function exportedCacheRef(cache: CacheSpec, push: boolean): string | undefined {
  return cache.kind === 'registry' && push ? cache.export : undefined;
}

/** Logs the plan before the build: scope, imports in order, export. */
export function logCachePlan(cache: CacheSpec, push: boolean, ctx: RunContext): void {
  if (cache.kind !== 'registry') return;
  if (cache.plan !== undefined)
    ctx.log.info(ctx.loc('RunCacheScope', describeScope(cache.plan.own, ctx.loc)));
  ctx.log.info(ctx.loc('RunCacheImports', cache.imports.join(', ')));
  const exported = exportedCacheRef(cache, push);
  ctx.log.info(exported === undefined ? ctx.loc('RunCacheNoExport') : ctx.loc('RunCacheExport', exported));
}

/** Outside text for a log line: the agent would run `##vso[...]` (and format `##[...]`) anywhere in a line. */
export function inert(text: string): string {
  return text.replace(/[\r\n]+/g, ' ').replace(/##(?=(?:vso)?\[)/gi, '# #');
}

/** Logs what BuildKit reported of each import, and the cached steps. */
export function logCacheResults(
  results: readonly CacheImportResult[],
  steps: { steps: number; cached: number },
  ctx: RunContext,
): void {
  for (const result of results) {
    if (result.state === 'found') ctx.log.info(ctx.loc('RunCacheImportFound', result.ref));
    else if (result.state === 'missing') ctx.log.info(ctx.loc('RunCacheImportMissing', result.ref));
    else if (result.state === 'failed')
      ctx.log.info(ctx.loc('RunCacheImportFailed', result.ref, inert(result.error ?? '')));
  }
  if (results.length > 0) ctx.log.info(ctx.loc('RunCacheHitSummary', steps.cached, steps.steps));
}
