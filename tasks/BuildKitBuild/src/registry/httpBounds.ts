import type { HttpClient, HttpHeaders, PipelineResponse, RestError } from '@azure/core-rest-pipeline';

/**
 * The one HTTP client every credential request goes through (Entra ID, the Azure DevOps OIDC endpoint,
 * the managed identity endpoint, ACR's token exchange): each attempt is bounded in time and ends with
 * the run's cancellation, a Retry-After longer than the bound is cut to it, and the last attempt is
 * recorded so that a failure can be told by what really happened on the wire (no answer, a refused
 * connection, which endpoint answered which status) rather than by the text a library wraps it in.
 *
 * @azure/identity passes neither the getToken abortSignal nor a timeout to the requests MSAL makes, and
 * its managed identity credential replaces any extra pipeline policies; an `httpClient` in the
 * credential options is the one seam all of them honour.
 */

/** How long one attempt may take; also the longest Retry-After honoured. */
export interface HttpBounds {
  readonly attemptTimeoutMs: number;
}

/** The last HTTP attempt of a credential request, without anything secret (no bodies of answers that hold tokens). */
export type HttpAttempt =
  | {
      readonly kind: 'answered';
      /** Scheme, host and path: no query. */
      readonly endpoint: string;
      readonly status: number;
      /** The OAuth `error` code of an error answer (`invalid_client`), when it has one. */
      readonly error?: string;
      /** The error answer's description or message, one line. */
      readonly description?: string;
    }
  | { readonly kind: 'timedOut'; readonly endpoint: string; readonly timeoutMs: number }
  | { readonly kind: 'unreachable'; readonly endpoint: string; readonly detail: string };

/** Where the bounded client writes what it saw; read after a failure. */
export interface HttpTrace {
  last?: HttpAttempt;
}

/** A Retry-After longer than the bound, and what is waited instead. */
export interface RetryAfterCut {
  readonly endpoint: string;
  readonly askedMs: number;
  readonly waitMs: number;
}

export interface BoundOptions {
  readonly bounds: HttpBounds;
  /** The run's cancellation: aborts the attempt in flight. */
  readonly signal: AbortSignal;
  readonly trace: HttpTrace;
  readonly onRetryAfterCut?: (cut: RetryAfterCut) => void;
  /** core-rest-pipeline's RestError, passed in so that this module loads nothing by itself. */
  readonly RestError: typeof RestError;
}

/** `https://host:port/path` of a URL, without query or fragment (which may hold ids or signatures). */
export function endpointOf(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return '(unreadable URL)';
  }
}

/** A Retry-After value (seconds or an HTTP date) in milliseconds; undefined when absent or unreadable. */
export function retryAfterMs(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  return Number.isFinite(date) ? Math.max(0, date - nowMs) : undefined;
}

/** The headers through which Azure services ask a client to wait: milliseconds first, as the SDK reads them. */
const MS_HEADERS = ['retry-after-ms', 'x-ms-retry-after-ms'] as const;

/**
 * Cuts the wait a 429 or 503 answer asks for to `maxMs`, rewriting its headers (the retry policies of
 * the libraries read them); returns what was asked when it was cut, else undefined.
 */
export function cutRetryAfter(
  status: number,
  headers: HttpHeaders,
  maxMs: number,
  nowMs: number,
): { askedMs: number } | undefined {
  if (status !== 429 && status !== 503) return undefined;
  let askedMs = 0;
  for (const name of MS_HEADERS) {
    const raw = headers.get(name)?.trim();
    if (raw !== undefined && /^\d+(\.\d+)?$/.test(raw)) askedMs = Math.max(askedMs, Number(raw));
  }
  askedMs = Math.max(askedMs, retryAfterMs(headers.get('retry-after'), nowMs) ?? 0);
  if (askedMs <= maxMs) return undefined;
  for (const name of MS_HEADERS) if (headers.has(name)) headers.set(name, String(maxMs));
  if (headers.has('retry-after')) headers.set('retry-after', String(maxMs / 1000));
  return { askedMs };
}

/** `error` and a one-line description of an error answer: OAuth (`error_description`) or Azure DevOps (`message`). */
export function errorAnswerOf(body: string | null | undefined): { error?: string; description?: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body ?? '');
  } catch {
    const text = (body ?? '').replace(/\s+/g, ' ').trim();
    return text === '' ? {} : { description: text.slice(0, 300) };
  }
  if (typeof parsed !== 'object' || parsed === null) return {};
  const record = parsed as Record<string, unknown>;
  const error = typeof record.error === 'string' ? record.error : undefined;
  const text =
    typeof record.error_description === 'string'
      ? record.error_description
      : typeof record.message === 'string'
        ? record.message
        : undefined;
  // Entra ID appends trace and correlation ids on further lines: the first line is the gist.
  const description = text?.split(/\r?\n/)[0]?.trim().slice(0, 300);
  return {
    ...(error === undefined ? {} : { error }),
    ...(description === undefined || description === '' ? {} : { description }),
  };
}

function record(response: PipelineResponse): HttpAttempt {
  const endpoint = endpointOf(response.request.url);
  if (response.status < 400) return { kind: 'answered', endpoint, status: response.status };
  return { kind: 'answered', endpoint, status: response.status, ...errorAnswerOf(response.bodyAsText) };
}

/** Wraps `base` so that every attempt is bounded, cancellable, Retry-After-capped and recorded. */
export function boundedHttpClient(base: HttpClient, options: BoundOptions): HttpClient {
  const { bounds, signal, trace } = options;
  return {
    sendRequest: async (request) => {
      const endpoint = endpointOf(request.url);
      const timedOut = new AbortController();
      const timer = setTimeout(() => {
        timedOut.abort();
      }, bounds.attemptTimeoutMs);
      const own = request.abortSignal;
      request.abortSignal = AbortSignal.any([
        signal,
        timedOut.signal,
        ...(own === undefined ? [] : [own as AbortSignal]),
      ]);
      try {
        const response = await base.sendRequest(request);
        trace.last = record(response);
        const cut = cutRetryAfter(response.status, response.headers, bounds.attemptTimeoutMs, Date.now());
        if (cut !== undefined) {
          options.onRetryAfterCut?.({ endpoint, askedMs: cut.askedMs, waitMs: bounds.attemptTimeoutMs });
        }
        return response;
      } catch (error: unknown) {
        if (signal.aborted) throw error;
        if (timedOut.signal.aborted) {
          trace.last = { kind: 'timedOut', endpoint, timeoutMs: bounds.attemptTimeoutMs };
          // A network error the retry policies know (ETIMEDOUT), not an AbortError they would pass through
          // as if the caller had cancelled.
          throw new options.RestError(
            `no answer from ${endpoint} within ${bounds.attemptTimeoutMs / 1000} s`,
            {
              code: 'ETIMEDOUT',
              request,
            },
          );
        }
        const code = (error as { code?: unknown } | undefined)?.code;
        const message = error instanceof Error ? error.message : String(error);
        trace.last = {
          kind: 'unreachable',
          endpoint,
          detail: typeof code === 'string' && !message.includes(code) ? `${code}: ${message}` : message,
        };
        throw error;
      } finally {
        clearTimeout(timer);
        // The retry policies look at the request's own signal before the next attempt.
        request.abortSignal = own;
      }
    },
  };
}
