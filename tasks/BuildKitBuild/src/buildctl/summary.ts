import type { Localize } from '../core/localize';
import type { CacheImportResult, CacheSummary } from './cacheReport';
import type { PushReport } from './pushes';

export interface SummaryData {
  readonly succeeded: boolean;
  /** Every requested `name:tag`. */
  readonly refs: readonly string[];
  /** What reached the registry and what did not. */
  readonly push: PushReport;
  /** `name@digest`, as published in imageRefWithDigest; only for an image in the registry. */
  readonly pinned: string | undefined;
  /** Target platforms; empty: the daemon's default. */
  readonly platforms: readonly string[];
  readonly daemon: string;
  readonly durationMs: number;
  readonly steps: number;
  readonly cached: number;
  /** Why it failed, when it did (outside text: shown in a code block, never as Markdown). */
  readonly failure: string | undefined;
  /** How many times buildctl ran (transient push failures are retried); 1 when absent. */
  readonly attempts?: number;
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

/** The longest run of backticks in a text. */
function longestBacktickRun(text: string): number {
  let longest = 0;
  for (const run of text.matchAll(/`+/g)) longest = Math.max(longest, run[0].length);
  return longest;
}

/**
 * Inline code for a table cell that survives any content: the fence is longer than any backtick run inside
 * (so the text cannot close it), line breaks become spaces (a row is one line), pipes are escaped for the
 * table (a backslash right before a pipe is kept apart from it by a zero-width space, so that it cannot
 * escape the escape). Inside a code span, `<html>`, `[links](…)` and `![images](…)` are shown as text.
 */
export function code(text: string): string {
  const clean = text
    .replace(/[\r\n]+/g, ' ')
    .replace(/\\(?=\|)/g, '\\\u200b')
    .replace(/\|/g, '\\|');
  const fence = '`'.repeat(longestBacktickRun(clean) + 1);
  // A backtick at either end would join the fence; CommonMark strips one space on each side when both are
  // there. Padding both sides with a space then keeps the text exact.
  const pad = /^`|`$/.test(clean) || (clean.startsWith(' ') && clean.endsWith(' ')) ? ' ' : '';
  return `${fence}${pad}${clean}${pad}${fence}`;
}

/** A fenced code block that any text, also one with backtick fences or many lines, cannot close early. */
export function codeBlock(text: string): string[] {
  const fence = '`'.repeat(Math.max(3, longestBacktickRun(text) + 1));
  return [fence, ...text.split(/\r?\n|\r/), fence];
}

function imageCell(data: SummaryData, loc: Localize): string {
  if (data.refs.length === 0) return loc('RunSummaryNone');
  const { push } = data;
  return data.refs
    .map((ref) => {
      if (!push.requested) return code(ref);
      const state = push.pushed.includes(ref)
        ? loc('RunSummaryRefPushed')
        : push.failed?.ref === ref
          ? loc('RunSummaryRefPushFailed')
          : loc('RunSummaryRefNotPushed');
      return `${code(ref)} ${state}`;
    })
    .join('<br>');
}

function pushedCell(data: SummaryData, loc: Localize): string {
  const { push } = data;
  if (!push.requested) return loc('RunSummaryNotRequested');
  if (push.pushed.length === 0) return loc('RunSummaryNo');
  if (push.notPushed.length === 0) return loc('RunSummaryYes');
  return loc('RunSummaryPartly', push.pushed.length, data.refs.length);
}

function digestCell(data: SummaryData, loc: Localize): string {
  const { digest, local } = data.push;
  if (digest === undefined) return loc('RunSummaryNone');
  return local ? `${code(digest)} ${loc('RunSummaryDigestLocal')}` : code(digest);
}

/** Pure: the Markdown build summary attached to the run's summary page. */
export function renderSummary(data: SummaryData, loc: Localize): string {
  const rows: [string, string][] = [
    [loc('RunSummaryImages'), imageCell(data, loc)],
    [loc('RunSummaryPushed'), pushedCell(data, loc)],
    [loc('RunSummaryDigest'), digestCell(data, loc)],
    [
      loc('RunSummaryPlatforms'),
      data.platforms.length > 0 ? data.platforms.map(code).join(', ') : loc('RunSummaryPlatformsDefault'),
    ],
    [loc('RunSummaryDaemon'), code(data.daemon)],
    [loc('RunSummaryDuration'), formatDuration(data.durationMs)],
    [loc('RunSummarySteps'), loc('RunSummaryStepsValue', data.steps, data.cached)],
  ];
  // Only a retried build has the row: its attempts repeated the push after transient registry failures.
  if ((data.attempts ?? 1) > 1)
    rows.push([loc('RunSummaryAttempts'), loc('RunSummaryAttemptsValue', data.attempts ?? 1)]);
  const lines = [
    `### ${data.succeeded ? loc('RunSummaryTitleSucceeded') : loc('RunSummaryTitleFailed')}`,
    '',
    `| | |`,
    `|---|---|`,
    ...rows.map(([name, value]) => `| ${name} | ${value} |`),
  ];
  lines.push(...renderCacheSection(data.cache, loc));
  if (data.failure !== undefined) lines.push('', loc('RunSummaryFailure'), '', ...codeBlock(data.failure));
  if (data.pinned !== undefined && data.push.pushed.length > 0) {
    lines.push('', loc('RunSummaryPinned'), '', ...codeBlock(data.pinned));
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
