import type { RunContext } from '../context';
import type { ToolSpec } from './spec';

export interface Buildctl {
  /** Absolute path of the buildctl executable. */
  readonly path: string;
  /** Version it reports, e.g. `0.32.2`. */
  readonly version: string;
  /** Directory holding buildctl (and buildkitd, when it came from a release archive). */
  readonly binDir: string;
}

/** PATH, else tool cache, else download. (Issue 5 owns this module.) */
export function resolveBuildctl(_spec: ToolSpec, ctx: RunContext, _signal: AbortSignal): Promise<Buildctl> {
  return Promise.reject(new Error(ctx.loc('NotImplemented')));
}
