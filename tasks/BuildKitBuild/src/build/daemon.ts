import type { RunContext } from '../context';
import type { Buildctl } from '../tool/install';
import type { BuildInputs } from './spec';

/** The daemon chosen for this build. */
export interface SelectedDaemon {
  readonly address: string;
  /** Stops what was started for this job (a local daemon); nothing for a remote one. */
  dispose(): Promise<void>;
}

/** Orders the addresses, runs the pre-flight check, fails over. (Issue 3 owns this module.) */
export function selectDaemon(
  _inputs: BuildInputs,
  _buildctl: Buildctl,
  ctx: RunContext,
  _signal: AbortSignal,
): Promise<SelectedDaemon> {
  return Promise.reject(new Error(ctx.loc('NotImplemented')));
}
