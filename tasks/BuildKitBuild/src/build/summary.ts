import type { Localize } from '../localize';

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
  if (data.failure !== undefined) lines.push('', `${loc('RunSummaryFailure')} ${code(data.failure)}`);
  if (data.succeeded && data.pinned !== undefined) {
    lines.push('', loc('RunSummaryPinned'), '', '```', data.pinned, '```');
  }
  return `${lines.join('\n')}\n`;
}
