import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import type { DaemonExit } from './localProcess';

/** One readiness check: did the daemon answer, and what was said. */
export interface ProbeResult {
  readonly ok: boolean;
  readonly output: string;
}

/** Asks a daemon whether it answers; `timeoutMs` bounds this one attempt. */
export type ReadinessProbe = (
  address: string,
  timeoutMs: number,
  signal: AbortSignal,
) => Promise<ProbeResult>;

/** `buildctl --addr <address> debug workers`, as the real readiness check (no shell, bounded). */
export function buildctlProbe(
  buildctl: string,
  env: Readonly<Record<string, string | undefined>>,
): ReadinessProbe {
  return (address, timeoutMs, signal) =>
    new Promise((resolve) => {
      execFile(
        buildctl,
        ['--addr', address, 'debug', 'workers'],
        { env: { ...env }, signal, timeout: timeoutMs, killSignal: 'SIGKILL', encoding: 'utf8' },
        (error, stdout, stderr) => {
          const output = `${stdout}${stderr}`.trim();
          if (error === null) resolve({ ok: true, output });
          else if (error.killed || error.signal === 'SIGKILL') {
            resolve({ ok: false, output: output || `no answer within ${timeoutMs} ms` });
          } else resolve({ ok: false, output: output || error.message });
        },
      );
    });
}

export type WaitOutcome =
  | { readonly kind: 'ready'; readonly output: string }
  | { readonly kind: 'exited'; readonly exit: DaemonExit }
  | { readonly kind: 'timeout'; readonly lastProbe: string | undefined }
  | { readonly kind: 'cancelled' };

export interface WaitOptions {
  readonly address: string;
  /** The socket file: probing starts once it exists. */
  readonly socket: string;
  readonly probe: ReadinessProbe;
  /** The daemon's exit, when it has exited. */
  readonly exit: () => DaemonExit | undefined;
  readonly exited: Promise<DaemonExit>;
  readonly timeoutMs: number;
  /** Bound of one probe (a daemon that accepts but never answers). */
  readonly probeTimeoutMs: number;
  readonly signal: AbortSignal;
}

/** Resolves after `ms`, or earlier when the daemon exits or the run is cancelled. */
function pause(ms: number, exited: Promise<DaemonExit>, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    void exited.then(done);
  });
}

/**
 * Probes until the daemon answers, exits, the deadline passes or the run is cancelled. Waits for the
 * socket to appear before spawning buildctl, then backs off from 100 ms to 1 s between attempts.
 */
export async function waitUntilReady(options: WaitOptions): Promise<WaitOutcome> {
  const deadline = Date.now() + options.timeoutMs;
  let interval = 50;
  let lastProbe: string | undefined;
  for (;;) {
    if (options.signal.aborted) return { kind: 'cancelled' };
    const exit = options.exit();
    if (exit !== undefined) return { kind: 'exited', exit };
    const remaining = deadline - Date.now();
    if (remaining <= 0) return { kind: 'timeout', lastProbe };
    if (fs.existsSync(options.socket)) {
      const result = await options.probe(
        options.address,
        Math.min(options.probeTimeoutMs, remaining),
        options.signal,
      );
      if (result.ok) return { kind: 'ready', output: result.output };
      lastProbe = result.output;
    }
    interval = Math.min(interval * 2, 1000);
    await pause(Math.min(interval, Math.max(deadline - Date.now(), 0)), options.exited, options.signal);
  }
}
