import { spawn } from 'node:child_process';
import { LineSplitter, MAX_LINE_LENGTH } from './lines';

export type StreamName = 'stdout' | 'stderr';

/**
 * How a child process runs. Every child the task starts goes through startProcess (below), so these rules
 * hold for all of them: no shell (an argv array), stdin closed, the environment exactly as given (unset
 * names dropped), output read as bounded lines that never cut a registered secret, cancellation forwarded
 * as the agent's signal then SIGKILL after a grace period, an optional timeout that kills.
 */
export interface StartProcessOptions {
  readonly file: string;
  readonly args: readonly string[];
  /** The child's whole environment. */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd?: string;
  /** Complete lines as soon as they arrive (several at once when a chunk holds several). */
  readonly onLines?: (lines: readonly string[], stream: StreamName) => void;
  /** Aborting stops the process: the same signal (SIGINT/SIGTERM), then SIGKILL after killGraceMs. */
  readonly signal?: AbortSignal;
  readonly killGraceMs?: number;
  /** Kills the process (SIGKILL) when it runs longer than this. */
  readonly timeoutMs?: number;
  /**
   * Back-pressure: called after each onLines; a returned promise pauses reading (so the child blocks on
   * its full pipe) until it settles. Keeps memory bounded when whoever reads our output is slower.
   */
  readonly flowControl?: () => Promise<void> | undefined;
  /** Secrets registered so far: a line too long to pass on whole is never cut inside one. */
  readonly secrets?: () => readonly string[];
  /** Its own process group (a daemon the caller stops itself, with its descendants). */
  readonly detached?: boolean;
  /**
   * Settle this long after the process exits even when a descendant still holds its output pipes (a
   * daemon's helpers); without it the end waits until the pipes close.
   */
  readonly settleAfterExitMs?: number;
}

export type RunProcessOptions = StartProcessOptions & {
  readonly onLines: (lines: readonly string[], stream: StreamName) => void;
};

export interface ProcessResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Stopped because the AbortSignal fired. */
  readonly cancelled: boolean;
  /** Killed because timeoutMs passed. */
  readonly timedOut: boolean;
}

export interface ProcessEnd extends ProcessResult {
  /** Set when the process could not be started at all (ENOENT, EACCES). */
  readonly error: Error | undefined;
}

export interface StartedProcess {
  /** Undefined when the process could not be started. */
  readonly pid: number | undefined;
  /** Resolves once the process has ended and its output was read; never rejects. */
  readonly ended: Promise<ProcessEnd>;
}

/** The signal to forward for an abort reason: the agent's own SIGINT stays SIGINT, anything else SIGTERM. */
export function forwardedSignal(reason: unknown): NodeJS.Signals {
  return reason === 'SIGINT' ? 'SIGINT' : 'SIGTERM';
}

/** Starts a child process under the rules above; the one place the task calls child_process. */
export function startProcess(options: StartProcessOptions): StartedProcess {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(options.env)) if (value !== undefined) env[name] = value;
  const child = spawn(options.file, [...options.args], {
    env,
    cwd: options.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    shell: false,
    windowsHide: true,
    detached: options.detached ?? false,
  });
  let cancelled = false;
  let timedOut = false;
  let killTimer: NodeJS.Timeout | undefined;
  const follow = (stream: NodeJS.ReadableStream, name: StreamName): LineSplitter => {
    const splitter = new LineSplitter(MAX_LINE_LENGTH, options.secrets);
    stream.on('data', (chunk: Buffer) => {
      const lines = splitter.push(chunk);
      if (lines.length === 0) return;
      options.onLines?.(lines, name);
      const wait = options.flowControl?.();
      if (wait !== undefined) {
        stream.pause();
        void wait.finally(() => stream.resume());
      }
    });
    return splitter;
  };
  const out = follow(child.stdout, 'stdout');
  const err = follow(child.stderr, 'stderr');
  const signal = options.signal;
  const onAbort = (): void => {
    cancelled = true;
    child.kill(forwardedSignal(signal?.reason));
    killTimer = setTimeout(() => child.kill('SIGKILL'), options.killGraceMs ?? 3000);
  };
  const timeout =
    options.timeoutMs === undefined
      ? undefined
      : setTimeout(() => {
          timedOut = true;
          child.kill('SIGKILL');
        }, options.timeoutMs);
  if (signal?.aborted === true) onAbort();
  else signal?.addEventListener('abort', onAbort, { once: true });

  const ended = new Promise<ProcessEnd>((resolve) => {
    let settled = false;
    const settle = (end: ProcessEnd): void => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      clearTimeout(timeout);
      clearTimeout(killTimer);
      resolve(end);
    };
    child.on('error', (error) => {
      // An error after the start (a failed kill) is not an end; only a failed start has no pid.
      if (child.pid === undefined) settle({ code: null, signal: null, cancelled, timedOut, error });
    });
    child.on('exit', (code, exitSignal) => {
      if (options.settleAfterExitMs === undefined) return;
      setTimeout(() => {
        settle({ code, signal: exitSignal, cancelled, timedOut, error: undefined });
      }, options.settleAfterExitMs).unref();
    });
    child.on('close', (code, exitSignal) => {
      if (settled) return;
      const outRest = out.end();
      if (outRest.length > 0) options.onLines?.(outRest, 'stdout');
      const errRest = err.end();
      if (errRest.length > 0) options.onLines?.(errRest, 'stderr');
      settle({ code, signal: exitSignal, cancelled, timedOut, error: undefined });
    });
  });
  return { pid: child.pid, ended };
}

/**
 * Runs a program to its end, streaming stdout and stderr line by line with bounded memory, honouring
 * cancellation and an optional timeout. Rejects only when it cannot start.
 */
export async function runProcess(options: RunProcessOptions): Promise<ProcessResult> {
  const { error, ...result } = await startProcess(options).ended;
  if (error !== undefined) throw error;
  return result;
}

/** What a short command printed, stdout then stderr, trimmed, with how it ended. */
export interface CapturedProcess {
  readonly result: ProcessResult;
  readonly output: string;
}

/** Runs a short command to its end and keeps its output. Rejects only when it cannot start. */
export async function captureProcess(
  options: Omit<StartProcessOptions, 'onLines' | 'flowControl'>,
): Promise<CapturedProcess> {
  const lines: Record<StreamName, string[]> = { stdout: [], stderr: [] };
  const result = await runProcess({
    ...options,
    onLines: (received, stream) => {
      lines[stream].push(...received);
    },
  });
  return { result, output: [...lines.stdout, ...lines.stderr].join('\n').trim() };
}

/** How a process that did not succeed ended, for a message: its exit code, signal, timeout or cancellation. */
export function describeEnd(result: ProcessResult, timeoutMs?: number): string {
  if (result.timedOut) return `no answer within ${String((timeoutMs ?? 0) / 1000)} s`;
  if (result.cancelled) return 'cancelled';
  if (result.signal !== null) return `killed by ${result.signal}`;
  return `exit code ${String(result.code)}`;
}

/** True when the process ran to a successful end (exit code 0, not stopped). */
export function succeeded(result: ProcessResult): boolean {
  return result.code === 0 && !result.cancelled && !result.timedOut;
}
