import type { RunContext } from '../context';
import type { Buildctl } from '../tool/install';
import type { SelectedDaemon } from './daemon';

/**
 * Starts a buildkitd for this job only, on a private unix socket under Agent.TempDirectory, and waits
 * until it answers. dispose() stops it and removes its state. (Issue 8 owns this module.)
 */
export function startLocalDaemon(
  _buildctl: Buildctl,
  ctx: RunContext,
  _signal: AbortSignal,
): Promise<SelectedDaemon> {
  return Promise.reject(new Error(ctx.loc('NotImplemented')));
}
