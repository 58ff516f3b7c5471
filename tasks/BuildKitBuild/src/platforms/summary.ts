import { code, formatDuration } from '../buildctl/summary';
import type { Localize } from '../core/localize';
import type { PlatformResult } from './splitBuild';

/** What the platforms block of the summary shows besides each platform's result. */
export interface PlatformSummary {
  readonly results: readonly PlatformResult[];
  /** The merged index's digest; undefined when none was pushed. */
  readonly indexDigest: string | undefined;
  readonly pushed: boolean;
}

/** Pure: the Markdown block with one row per platform: daemon, native or emulated, digest, duration, steps. */
export function renderPlatformSummary(data: PlatformSummary, loc: Localize): string {
  const state = (r: PlatformResult): string =>
    r.state === 'succeeded'
      ? loc('MultiSummarySucceeded')
      : r.state === 'failed'
        ? loc('MultiSummaryFailed')
        : loc('MultiSummaryStopped');
  const lines = [
    `#### ${loc('MultiSummaryTitle')}`,
    '',
    `| ${[
      loc('MultiSummaryPlatform'),
      loc('MultiSummaryResult'),
      loc('RunSummaryDaemon'),
      loc('MultiSummaryBuilt'),
      loc('RunSummaryDigest'),
      loc('RunSummaryDuration'),
      loc('RunSummarySteps'),
    ].join(' | ')} |`,
    '|---|---|---|---|---|---|---|',
    ...data.results.map(
      (r) =>
        `| ${[
          code(r.platform),
          state(r),
          code(r.daemon),
          r.native ? loc('MultiSummaryNative') : loc('MultiSummaryEmulated'),
          r.metadata?.digest === undefined ? loc('RunSummaryNone') : code(r.metadata.digest),
          r.attempts > 1
            ? `${formatDuration(r.durationMs)} (${loc('MultiSummaryAttempts', r.attempts)})`
            : formatDuration(r.durationMs),
          loc('RunSummaryStepsValue', r.steps, r.cached),
        ].join(' | ')} |`,
    ),
    '',
  ];
  if (!data.pushed) lines.push(loc('MultiSummaryNoIndex'), '');
  else if (data.indexDigest !== undefined) lines.push(loc('MultiSummaryIndex', code(data.indexDigest)), '');
  return lines.join('\n');
}
