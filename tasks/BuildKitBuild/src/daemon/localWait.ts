import * as fs from 'node:fs';
import type { Localize } from '../core/localize';
import { NO_TLS } from './flags';
import type { DaemonExit } from './localProcess';
import { runPreflight } from './preflight';

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

/** The pre-flight check (`buildctl debug workers`, no TLS on the job's private socket) as readiness check. */
export function buildctlProbe(
  buildctl: string,
  env: Readonly<Record<string, string | undefined>>,
  loc: Localize,
): ReadinessProbe {
  return async (address, timeoutMs, signal) => {
    const outcome = await runPreflight({
      buildctlPath: buildctl,
      address,
      tls: NO_TLS,
      env,
      timeoutMs,
      signal,
    });
    if (outcome.ok) return { ok: true, output: outcome.platforms.join(', ') };
    const output = outcome.kind === 'timeout' ? loc('LocalProbeTimeout', timeoutMs) : outcome.detail;
    return { ok: false, output };
  };
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
  let intervalMs = 50;
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
    intervalMs = Math.min(intervalMs * 2, 1000);
    await pause(Math.min(intervalMs, Math.max(deadline - Date.now(), 0)), options.exited, options.signal);
  }
}
