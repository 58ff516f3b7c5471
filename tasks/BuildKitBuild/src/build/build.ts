import type { RunContext } from '../context';
import type { Buildctl } from '../tool/install';
import type { SelectedDaemon } from './daemon';
import type { BuildInputs } from './spec';

export interface BuildEnvironment {
  readonly buildctl: Buildctl;
  readonly daemon: SelectedDaemon;
  /** DOCKER_CONFIG for buildctl; undefined leaves buildctl's default. */
  readonly dockerConfigDir: string | undefined;
}

/** Builds, streams the log, sets outputs and uploads the summary. (Issue 3 owns this module.) */
export function runBuild(
  _inputs: BuildInputs,
  _environment: BuildEnvironment,
  ctx: RunContext,
  _signal: AbortSignal,
): Promise<void> {
  return Promise.reject(new Error(ctx.loc('NotImplemented')));
}
