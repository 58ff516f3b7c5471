import type { RunContext } from '../core/context';
import { secondsVariable } from '../core/secondsVariable';
import type { PlainLine } from './progress';

/** Attempts of one build at most: the first and two retries. */
export const MAX_BUILD_ATTEMPTS = 3;

/** The pipeline variable holding the first wait before a retry, in seconds (each later wait doubles). */
export const PUSH_RETRY_DELAY_VARIABLE = 'BuildKitBuild.PushRetryDelaySeconds';
export const DEFAULT_PUSH_RETRY_DELAY_SECONDS = 10;
/** The longest first wait: a retry is for a registry's passing hiccup, not for waiting out an outage. */
export const MAX_PUSH_RETRY_DELAY_SECONDS = 300;
/** The longest wait of all: the doubled longest first wait, well inside what a timer holds (2^31-1 ms). */
const MAX_RETRY_WAIT_MS = 2 * MAX_PUSH_RETRY_DELAY_SECONDS * 1000;

/**
 * The first wait before a retry, in milliseconds, from the pipeline variable: the default when unset or
 * not a positive number, the longest when above it, each time with a warning naming the variable.
 */
export function pushRetryDelayMs(ctx: RunContext): number {
  const seconds = secondsVariable(ctx, PUSH_RETRY_DELAY_VARIABLE, DEFAULT_PUSH_RETRY_DELAY_SECONDS);
  if (seconds <= MAX_PUSH_RETRY_DELAY_SECONDS) return seconds * 1000;
  const raw = ctx.variable(PUSH_RETRY_DELAY_VARIABLE)?.trim() ?? '';
  ctx.log.warning(
    ctx.loc('PushRetryDelayTooLong', PUSH_RETRY_DELAY_VARIABLE, raw, MAX_PUSH_RETRY_DELAY_SECONDS),
  );
  return MAX_PUSH_RETRY_DELAY_SECONDS * 1000;
}

/**
 * What the registry answered, as BuildKit prints it. containerd's remotes: `unexpected status from PUT
 * request to https://…/manifests/…: 503 Service Unavailable` (ErrUnexpectedStatus: method, URL, status);
 * Go's HTTP client through containerd's `failed to do request: Put "https://…": … read: connection reset
 * by peer`, or `…": EOF` / `unexpected EOF` when the registry closes the connection mid-request.
 */
const SERVER_STATUS = /unexpected status from [A-Z]+ request to \S+: (5\d\d|429)\b/;
const RESET = /connection reset by peer/;
const EOF = /(?:: EOF|unexpected EOF)\s*$/;
/** A refusal is never transient, whatever else the line says: the same credentials would be refused again. */
const REFUSAL =
  /\b(?:401|403) [A-Z]|push access denied|insufficient_scope|failed to authorize|UNAUTHORIZED|DENIED/;

/** Pure: why an error text is a transient registry failure (`HTTP 503`, `connection reset`, `EOF`), else undefined. */
export function transientReason(text: string): string | undefined {
  if (REFUSAL.test(text)) return undefined;
  const status = SERVER_STATUS.exec(text);
  if (status !== null) return `HTTP ${status[1] ?? ''}`;
  if (RESET.test(text)) return 'connection reset';
  if (EOF.test(text)) return 'EOF';
  return undefined;
}

/** The vertices that write to the registry: the image export (with its pushes) and the cache exports. */
function isExportVertex(name: string): boolean {
  return name.startsWith('exporting ');
}

/**
 * Follows one attempt's progress for the errors that allow another attempt: only errors of export
 * vertices whose text is a transient registry failure. Any error of another vertex (a Dockerfile step,
 * resolving a base image, a frontend) makes the attempt final, so a failed step is never run again.
 */
export class TransientPushTracker {
  private reason: string | undefined;
  private final = false;

  observe(parsed: PlainLine, vertexName: (vertex: number) => string | undefined): void {
    if (parsed.kind !== 'error' || this.final) return;
    const name = vertexName(parsed.vertex) ?? '';
    const reason = isExportVertex(name) ? transientReason(parsed.text) : undefined;
    if (reason === undefined) {
      this.final = true;
      this.reason = undefined;
      return;
    }
    this.reason ??= reason;
  }

  /** Why the failed attempt may be retried, or undefined when it may not. */
  retryReason(): string | undefined {
    return this.final ? undefined : this.reason;
  }
}

/**
 * Pure: the wait before attempt `next` (2, 3, …): the first delay, doubled for each later retry, never
 * longer than a timer holds (a longer setTimeout fires at once, which would retry without any wait).
 */
export function retryDelayMs(next: number, firstDelayMs: number): number {
  return Math.min(firstDelayMs * 2 ** Math.max(0, next - 2), MAX_RETRY_WAIT_MS);
}
