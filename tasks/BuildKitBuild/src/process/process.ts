import { spawn } from 'node:child_process';
import { LineSplitter, MAX_LINE_LENGTH } from './lines';

export type StreamName = 'stdout' | 'stderr';

export interface RunProcessOptions {
  readonly file: string;
  readonly args: readonly string[];
  /** The child's whole environment. */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd?: string;
  /** Complete lines as soon as they arrive (several at once when a chunk holds several). */
  readonly onLines: (lines: readonly string[], stream: StreamName) => void;
  /** Aborting stops the process: the same signal (SIGINT/SIGTERM), then SIGKILL after killGraceMs. */
  readonly signal: AbortSignal;
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
}

export interface ProcessResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Stopped because the AbortSignal fired. */
  readonly cancelled: boolean;
  /** Killed because timeoutMs passed. */
  readonly timedOut: boolean;
}

/** The signal to forward for an abort reason: the agent's own SIGINT stays SIGINT, anything else SIGTERM. */
export function forwardedSignal(reason: unknown): NodeJS.Signals {
  return reason === 'SIGINT' ? 'SIGINT' : 'SIGTERM';
}

/**
 * Runs a program without a shell (argv array), streaming stdout and stderr line by line with bounded
 * memory, honouring cancellation and an optional timeout. Rejects only when it cannot start.
 */
export function runProcess(options: RunProcessOptions): Promise<ProcessResult> {
  return new Promise<ProcessResult>((resolve, reject) => {
    const env: Record<string, string> = {};
    for (const [name, value] of Object.entries(options.env)) if (value !== undefined) env[name] = value;
    const child = spawn(options.file, [...options.args], {
      env,
      cwd: options.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      shell: false,
      windowsHide: true,
    });
    let cancelled = false;
    let timedOut = false;
    let killTimer: NodeJS.Timeout | undefined;
    const follow = (stream: NodeJS.ReadableStream, name: StreamName): LineSplitter => {
      const splitter = new LineSplitter(MAX_LINE_LENGTH, options.secrets);
      stream.on('data', (chunk: Buffer) => {
        const lines = splitter.push(chunk);
        if (lines.length === 0) return;
        options.onLines(lines, name);
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
    const onAbort = (): void => {
      cancelled = true;
      child.kill(forwardedSignal(options.signal.reason));
      killTimer = setTimeout(() => child.kill('SIGKILL'), options.killGraceMs ?? 3000);
    };
    const timeout =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            child.kill('SIGKILL');
          }, options.timeoutMs);
    if (options.signal.aborted) onAbort();
    else options.signal.addEventListener('abort', onAbort, { once: true });
    child.on('error', (error) => {
      options.signal.removeEventListener('abort', onAbort);
      clearTimeout(timeout);
      clearTimeout(killTimer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      options.signal.removeEventListener('abort', onAbort);
      clearTimeout(timeout);
      clearTimeout(killTimer);
      const outRest = out.end();
      if (outRest.length > 0) options.onLines(outRest, 'stdout');
      const errRest = err.end();
      if (errRest.length > 0) options.onLines(errRest, 'stderr');
      resolve({ code, signal, cancelled, timedOut });
    });
  });
}
