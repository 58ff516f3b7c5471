import * as os from 'node:os';
import type { RunContext } from './context';

/** The agent's temporary directory (emptied after every job), else the system's. */
export function agentTempDirectory(ctx: RunContext): string {
  const dir = ctx.variable('Agent.TempDirectory')?.trim();
  return dir === undefined || dir === '' ? os.tmpdir() : dir;
}
