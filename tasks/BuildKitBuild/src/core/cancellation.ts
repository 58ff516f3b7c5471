/** Raised when the run was cancelled (SIGINT/SIGTERM from the agent). */
export class CancelledError extends Error {
  constructor(readonly signal: string) {
    super(`cancelled by ${signal}`);
    this.name = 'CancelledError';
  }
}

/** The CancelledError for an aborted signal, naming what aborted it. */
export function cancelledBy(signal: AbortSignal): CancelledError {
  return new CancelledError(String(signal.reason ?? 'cancellation'));
}

/** Throws CancelledError when the signal has been aborted. */
export function throwIfCancelled(signal: AbortSignal): void {
  if (signal.aborted) throw cancelledBy(signal);
}

/**
 * Settles like `work`, or rejects with CancelledError as soon as the signal aborts: for waits inside
 * libraries that do not honour the signal themselves. `work` is left to settle on its own (its result is
 * ignored), so whatever it holds must be released by the caller's own clean-up or by process exit.
 */
export function untilCancelled<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    work.catch(() => undefined);
    return Promise.reject(cancelledBy(signal));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      reject(cancelledBy(signal));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}
