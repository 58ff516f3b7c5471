import * as fs from 'node:fs';
import { cancelledBy, throwIfCancelled } from '../core/cancellation';
import type { RunContext } from '../core/context';
import { errorText } from '../core/errorText';
import { redactQueryIn, redactUrl } from './urlText';
import { WriteError } from './writeError';

/** How often and how patiently a download is tried. */
export interface RetryPolicy {
  /** Attempts in all, the first included. */
  readonly attempts: number;
  /** Wait after the first failure; doubled after each further one. */
  readonly firstDelayMs: number;
  /** Ceiling of one wait. */
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { attempts: 4, firstDelayMs: 1000, maxDelayMs: 8000 };

/** The edges a download talks to; tests replace them. */
export interface DownloadDeps {
  /** Streams `url` into `file` (which must not exist yet); rejects with a DownloadFailure or a network error. */
  fetch(url: string, file: string): Promise<void>;
  /** Waits `ms`, rejecting early when `signal` aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

/** The wait after failed attempt number `failedAttempt` (1-based): doubling, capped. */
export function backoffDelayMs(policy: RetryPolicy, failedAttempt: number): number {
  return Math.min(policy.maxDelayMs, policy.firstDelayMs * 2 ** Math.max(0, failedAttempt - 1));
}

/** Why one download attempt failed: an HTTP status, a transfer cut off, or (neither) a network error. */
export class DownloadFailure extends Error {
  readonly status: number | undefined;
  readonly interrupted: boolean;
  constructor(message: string, details: { status?: number; interrupted?: boolean; cause?: unknown }) {
    super(message, { cause: details.cause });
    this.name = 'DownloadFailure';
    this.status = details.status;
    this.interrupted = details.interrupted ?? false;
  }
}

/** The HTTP status a failed attempt carried; undefined for network errors and cut-off transfers. */
export function httpStatusOf(error: unknown): number | undefined {
  return error instanceof DownloadFailure ? error.status : undefined;
}

/** Server trouble, cut-off transfers and network errors are worth another try; a 404 or 403 is not. */
export function isRetryable(status: number | undefined): boolean {
  return status === undefined || status >= 500 || status === 408 || status === 429;
}

/** A sleep over the global timer (so that fake timers drive it), cut short by the signal. */
export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(cancelledBy(signal));
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(cancelledBy(signal));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Downloads `url` into a fresh file per attempt (`fileFor(attempt)`), retrying server and network
 * failures with a doubling wait. Returns the file of the attempt that succeeded; partial files of failed
 * attempts are removed. Fails with a message naming the URL (its query values redacted) and what to do;
 * a WriteError (the disk, not the server) is thrown at once.
 */
export async function downloadWithRetries(
  url: string,
  fileFor: (attempt: number) => string,
  policy: RetryPolicy,
  deps: DownloadDeps,
  ctx: RunContext,
  signal: AbortSignal,
): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    throwIfCancelled(signal);
    const file = fileFor(attempt);
    try {
      await deps.fetch(url, file);
      return file;
    } catch (error: unknown) {
      fs.rmSync(file, { force: true });
      throwIfCancelled(signal);
      if (error instanceof WriteError) throw error;
      const status = httpStatusOf(error);
      if (attempt >= policy.attempts || !isRetryable(status)) {
        throw new Error(failureMessage(url, attempt, error, ctx), { cause: error });
      }
      const delayMs = backoffDelayMs(policy, attempt);
      const reason = redactQueryIn(errorText(error), url);
      ctx.log.info(ctx.loc('InstallRetrying', redactUrl(url), attempt, policy.attempts, reason, delayMs));
      await deps.sleep(delayMs, signal);
    }
  }
}

/** The failure naming the URL and the error, the URL's query values redacted in both. */
function failureMessage(url: string, attempts: number, error: unknown, ctx: RunContext): string {
  const shown = redactUrl(url);
  const reason = redactQueryIn(errorText(error), url);
  const status = httpStatusOf(error);
  if (status === 404) return ctx.loc('InstallNotFound', shown);
  if (status !== undefined) return ctx.loc('InstallHttpFailed', shown, attempts, status);
  if (error instanceof DownloadFailure && error.interrupted) {
    return ctx.loc('InstallInterrupted', shown, attempts, reason);
  }
  return ctx.loc('InstallUnreachable', shown, attempts, reason);
}
