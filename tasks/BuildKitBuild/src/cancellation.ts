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
