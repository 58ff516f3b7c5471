import type { Localize } from '../localize';
import type { CacheImportResult, CacheSummary } from './cacheReport';

export interface SummaryData {
  readonly succeeded: boolean;
  readonly refs: readonly string[];
  readonly pushed: boolean;
  readonly digest: string | undefined;
  /** `name@digest`, as published in imageRefWithDigest. */
  readonly pinned: string | undefined;
  /** Target platforms; empty: the daemon's default. */
  readonly platforms: readonly string[];
  readonly daemon: string;
  readonly durationMs: number;
  readonly steps: number;
  readonly cached: number;
  /** Why it failed, when it did. */
  readonly failure: string | undefined;
  /** The registry cache: imports and what BuildKit said of each, the export. */
  readonly cache?: CacheSummary | undefined;
}

/** `1m 05s`, `12.3s`, `0.4s`. */
export function formatDuration(ms: number): string {
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  const whole = Math.round(seconds);
  const hours = Math.floor(whole / 3600);
  const minutes = Math.floor((whole % 3600) / 60);
  const rest = String(whole % 60).padStart(2, '0');
  return hours > 0 ? `${hours}h ${String(minutes).padStart(2, '0')}m ${rest}s` : `${minutes}m ${rest}s`;
}

/** Inline code that survives any content: backticks and table pipes cannot break out of the cell. */
export function code(text: string): string {
  const clean = text.replace(/[\r\n]+/g, ' ').replace(/\|/g, '\\|');
  const fence = clean.includes('`') ? '``' : '`';
  return `${fence}${fence === '``' ? ' ' : ''}${clean}${fence === '``' ? ' ' : ''}${fence}`;
}

/** Pure: the Markdown build summary attached to the run's summary page. */
export function renderSummary(data: SummaryData, loc: Localize): string {
  const rows: [string, string][] = [
    [
      loc('RunSummaryImages'),
      data.refs.length > 0 ? data.refs.map(code).join('<br>') : loc('RunSummaryNone'),
    ],
    [loc('RunSummaryPushed'), data.pushed ? loc('RunSummaryYes') : loc('RunSummaryNo')],
    [loc('RunSummaryDigest'), data.digest === undefined ? loc('RunSummaryNone') : code(data.digest)],
    [
      loc('RunSummaryPlatforms'),
      data.platforms.length > 0 ? data.platforms.map(code).join(', ') : loc('RunSummaryPlatformsDefault'),
    ],
    [loc('RunSummaryDaemon'), code(data.daemon)],
    [loc('RunSummaryDuration'), formatDuration(data.durationMs)],
    [loc('RunSummarySteps'), loc('RunSummaryStepsValue', data.steps, data.cached)],
  ];
  const lines = [
    `### ${data.succeeded ? loc('RunSummaryTitleSucceeded') : loc('RunSummaryTitleFailed')}`,
    '',
    `| | |`,
    `|---|---|`,
    ...rows.map(([name, value]) => `| ${name} | ${value} |`),
  ];
  lines.push(...renderCacheSection(data.cache, loc));
  if (data.failure !== undefined) lines.push('', `${loc('RunSummaryFailure')} ${code(data.failure)}`);
  if (data.succeeded && data.pinned !== undefined) {
    lines.push('', loc('RunSummaryPinned'), '', '```', data.pinned, '```');
  }
  return `${lines.join('\n')}\n`;
}

// ---------------------------------------------------------------------------------------------------
// The cache section

function importState(result: CacheImportResult, loc: Localize): string {
  switch (result.state) {
    case 'found':
      return loc('RunSummaryCacheFound');
    case 'missing':
      return loc('RunSummaryCacheMissing');
    case 'failed':
      return `${loc('RunSummaryCacheFailed')}: ${code(result.error ?? '')}`;
    case 'notReached':
      return loc('RunSummaryCacheNotRun');
  }
}

/** Pure: the summary's cache section (Markdown lines), empty when there was no registry cache. */
export function renderCacheSection(cache: CacheSummary | undefined, loc: Localize): string[] {
  if (cache === undefined || (cache.imports.length === 0 && cache.exportRef === undefined)) return [];
  const lines = ['', `#### ${loc('RunSummaryCache')}`, '', '| | |', '|---|---|'];
  cache.imports.forEach((result, index) => {
    const name = index === 0 ? loc('RunSummaryCacheImported') : '';
    lines.push(`| ${name} | ${code(result.ref)}: ${importState(result, loc)} |`);
  });
  if (cache.exportRef !== undefined) {
    const failed = cache.exportFailed ? ` ${loc('RunSummaryCacheExportFailed')}` : '';
    lines.push(`| ${loc('RunSummaryCacheExported')} | ${code(cache.exportRef)}${failed} |`);
  }
  return lines;
}
