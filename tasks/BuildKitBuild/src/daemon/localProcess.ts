import * as fs from 'node:fs';
import type { DaemonCommand } from './localMode';
import { startProcess } from '../process/process';

export interface DaemonExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Set when the process could not be started at all (ENOENT, EACCES). */
  readonly error: Error | undefined;
}

/** Sends a signal to pids the task may not signal itself (a root daemon under sudo). */
export type PrivilegedKill = (signal: 'TERM' | 'KILL', pids: readonly number[]) => Promise<void>;

export interface DaemonProcess {
  readonly pid: number | undefined;
  /** Resolves once the process has exited (never rejects). */
  readonly exited: Promise<DaemonExit>;
  exit(): DaemonExit | undefined;
  /** The last lines the daemon printed (stdout and stderr together). */
  lastLines(): string[];
  /** SIGTERM, then SIGKILL to it and its descendants after `graceMs`. True when it had to be killed. */
  stop(graceMs: number): Promise<boolean>;
}

const keptLines = 40;

/** The pids below `pid` (Linux /proc), deepest last; empty where /proc is not readable. */
export function descendants(pid: number): number[] {
  const found: number[] = [];
  const visit = (parent: number): void => {
    let tasks: string[];
    try {
      tasks = fs.readdirSync(`/proc/${parent}/task`);
    } catch {
      return;
    }
    for (const task of tasks) {
      let children: string;
      try {
        children = fs.readFileSync(`/proc/${parent}/task/${task}/children`, 'utf8');
      } catch {
        continue;
      }
      for (const child of children.trim().split(/\s+/).filter(Boolean).map(Number)) {
        if (!found.includes(child)) {
          found.push(child);
          visit(child);
        }
      }
    }
  };
  visit(pid);
  return found;
}

function isPermissionError(error: unknown): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === 'EPERM';
}

/** Signals each pid; returns those the task was not allowed to signal. Gone pids are ignored. */
function signalAll(pids: readonly number[], signal: NodeJS.Signals): number[] {
  const refused: number[] = [];
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch (error: unknown) {
      if (isPermissionError(error)) refused.push(pid);
    }
  }
  return refused;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/**
 * Starts the daemon in its own process group with stdin closed and its output piped: every line goes to
 * `onLine` and the last ones are kept for error messages. If the task dies, the daemon's next write to
 * the closed pipe ends it.
 */
export function startDaemonProcess(
  command: DaemonCommand,
  env: Readonly<Record<string, string | undefined>>,
  onLine: (line: string) => void,
  privilegedKill: PrivilegedKill | undefined,
): DaemonProcess {
  const lines: string[] = [];
  const keep = (line: string): void => {
    lines.push(line);
    if (lines.length > keptLines) lines.shift();
    onLine(line);
  };
  // 'close' comes once the pipes are drained, unless a descendant holds them: then settle soon after exit.
  const child = startProcess({
    file: command.file,
    args: command.args,
    env: { ...env, ...command.env },
    detached: true,
    onLines: (received) => {
      received.forEach(keep);
    },
    settleAfterExitMs: 500,
  });
  let exit: DaemonExit | undefined;
  const exited = child.ended.then(({ code, signal, error }): DaemonExit => {
    exit ??= { code, signal, error };
    return exit;
  });

  const send = async (signal: 'TERM' | 'KILL', pids: number[]): Promise<void> => {
    const refused = signalAll(pids, `SIG${signal}`);
    if (refused.length > 0 && privilegedKill !== undefined) await privilegedKill(signal, refused);
  };

  const stop = async (graceMs: number): Promise<boolean> => {
    const pid = child.pid;
    if (pid === undefined || exit !== undefined) return false;
    await send('TERM', [pid]);
    const first = await Promise.race([exited, delay(graceMs).then(() => undefined)]);
    if (first !== undefined) return false;
    // Still there: kill the launcher, everything it started and its process group.
    await send('KILL', [pid, ...descendants(pid)]);
    signalAll([-pid], 'SIGKILL');
    await Promise.race([exited, delay(graceMs)]);
    return true;
  };

  return {
    pid: child.pid,
    exited,
    exit: () => exit,
    lastLines: () => [...lines],
    stop,
  };
}
