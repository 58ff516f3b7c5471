import type {
  HttpClient,
  PipelineResponse,
  RestError,
  RetryInformation,
  RetryModifiers,
} from '@azure/core-rest-pipeline';
import type { HttpProxy } from '../core/context';
import { sdkProxySettings } from './proxySettings';
import {
  boundedHttpClient,
  retryAfterMs,
  type HttpBounds,
  type HttpTrace,
  type RetryAfterCut,
} from './httpBounds';

export { retryAfterMs } from './httpBounds';

/** What ACR's `/oauth2/exchange` answered once the retries were spent. */
export type ExchangeOutcome =
  | { readonly kind: 'ok'; readonly refreshToken: string }
  /** 400/401/403: the registry refused this token (audience, role, tenant). */
  | { readonly kind: 'rejected'; readonly status: number; readonly detail: string }
  /** Anything else: a server error that outlived the retries, an unreadable answer. */
  | { readonly kind: 'failed'; readonly status: number | undefined; readonly detail: string };

export interface ExchangeRequest {
  /** `myacr.azurecr.io` or `host:port`: the exchange goes to `https://<loginServer>/oauth2/exchange`. */
  readonly loginServer: string;
  /** The connection's tenant; omitted from the form when unknown (a managed identity without one). */
  readonly tenant: string | undefined;
  /** The Entra ID access token to exchange. */
  readonly accessToken: string;
  /** The agent's proxy towards the registry; undefined: HTTPS_PROXY/NO_PROXY from the environment. */
  readonly proxy?: HttpProxy;
}

/** How often and how long to retry: network errors, 429 and 5xx. */
export interface RetrySettings {
  /** Retries after the first attempt. */
  readonly maxRetries: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** Longest Retry-After honoured; longer ones are cut to this so the task never hangs for an hour. */
  readonly maxRetryAfterMs: number;
}

/** How long one credential request may take when the pipeline does not say (BuildKitBuild.CredentialTimeoutSeconds). */
export const DEFAULT_CREDENTIAL_TIMEOUT_SECONDS = 30;

export const DEFAULT_RETRY: RetrySettings = {
  maxRetries: 4,
  baseDelayMs: 500,
  maxDelayMs: 8_000,
  maxRetryAfterMs: DEFAULT_CREDENTIAL_TIMEOUT_SECONDS * 1000,
};

/** One retry about to happen: for the log. */
export interface RetryNotice {
  readonly attempt: number;
  readonly delayMs: number;
  /** `HTTP 503` or the network error's code. */
  readonly reason: string;
}

export interface ExchangeDeps {
  /** The HTTP client (tests pass a scripted one); default: core-rest-pipeline's Node client. */
  readonly httpClient?: HttpClient;
  readonly retry?: RetrySettings;
  /** A number in [0, 1) for the jitter; tests make it constant. */
  readonly random?: () => number;
  readonly onRetry?: (notice: RetryNotice) => void;
  /** How long one attempt may take (and the longest Retry-After honoured); default 30 s. */
  readonly bounds?: HttpBounds;
  /** Where the last attempt is recorded, for the caller to judge a failure by. */
  readonly trace?: HttpTrace;
  readonly onRetryAfterCut?: (cut: RetryAfterCut) => void;
}

/** Network error codes worth another attempt; TLS and protocol errors are not. */
const TRANSIENT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'REQUEST_SEND_ERROR',
]);

function isRetryableStatus(status: number): boolean {
  return status === 429 || status === 408 || (status >= 500 && status !== 501 && status !== 505);
}

/**
 * The delay in milliseconds before retry number `retryCount + 1`, or undefined to stop: Retry-After on 429/5xx when the
 * server sends one (capped), else exponential backoff with jitter; transient network errors likewise.
 */
export function retryDelayMs(
  info: { retryCount: number; status?: number; retryAfter?: string; errorCode?: string },
  settings: RetrySettings,
  random: () => number,
  nowMs: number,
): number | undefined {
  if (info.retryCount >= settings.maxRetries) return undefined;
  const retryable =
    info.status !== undefined
      ? isRetryableStatus(info.status)
      : info.errorCode !== undefined && TRANSIENT_CODES.has(info.errorCode);
  if (!retryable) return undefined;
  const fromHeader = info.status !== undefined ? retryAfterMs(info.retryAfter, nowMs) : undefined;
  if (fromHeader !== undefined) return Math.min(fromHeader, settings.maxRetryAfterMs);
  const exponential = Math.min(settings.maxDelayMs, settings.baseDelayMs * 2 ** info.retryCount);
  // Half fixed, half random: spreads agents that failed together without ever retrying at once.
  return Math.round(exponential / 2 + (exponential / 2) * random());
}

function detailOf(response: PipelineResponse): string {
  const body = (response.bodyAsText ?? '').replace(/\s+/g, ' ').trim();
  return body.length > 300 ? `${body.slice(0, 300)}...` : body;
}

/** Reads `{"refresh_token": "..."}`; undefined when the body is anything else. */
export function refreshTokenOf(body: string | null | undefined): string | undefined {
  try {
    const parsed: unknown = JSON.parse(body ?? '');
    if (typeof parsed === 'object' && parsed !== null && 'refresh_token' in parsed) {
      const token = parsed.refresh_token;
      if (typeof token === 'string' && token !== '') return token;
    }
  } catch {
    // not JSON: reported below as an unreadable answer
  }
  return undefined;
}

/** The form ACR expects: grant_type=access_token, service, tenant, access_token. */
export function exchangeForm(request: ExchangeRequest): string {
  const form = new URLSearchParams({ grant_type: 'access_token', service: request.loginServer });
  if (request.tenant !== undefined && request.tenant !== '') form.set('tenant', request.tenant);
  form.set('access_token', request.accessToken);
  return form.toString();
}

/**
 * The retry strategy of the task's HTTP pipelines (the ACR exchange, the registry client): network
 * errors, 429 and 5xx get another attempt after retryDelayMs (backoff, Retry-After honoured up to the
 * settings' cap), each announced to onRetry; a cancelled run gets none.
 */
export function backoffRetryStrategy(
  name: string,
  settings: RetrySettings,
  random: () => number,
  signal: AbortSignal,
  onRetry: ((notice: RetryNotice) => void) | undefined,
): { name: string; retry(state: RetryInformation): RetryModifiers } {
  return {
    name,
    retry(state: RetryInformation): RetryModifiers {
      const response = state.response;
      const error: RestError | undefined = state.responseError;
      const stop: RetryModifiers = error === undefined ? { skipStrategy: true } : { errorToThrow: error };
      if (signal.aborted) return stop;
      const delayMs = retryDelayMs(
        {
          retryCount: state.retryCount,
          status: response?.status,
          retryAfter: response?.headers.get('retry-after') ?? undefined,
          errorCode: error?.code,
        },
        settings,
        random,
        Date.now(),
      );
      if (delayMs === undefined) return stop;
      onRetry?.({
        attempt: state.retryCount + 2,
        delayMs,
        reason: response !== undefined ? `HTTP ${response.status}` : (error?.code ?? 'network error'),
      });
      return { retryAfterInMs: delayMs };
    },
  };
}

/**
 * Exchanges an Entra ID access token for an ACR refresh token, retrying network errors, 429 and 5xx with
 * bounded backoff. Network failures that outlive the retries throw (the RestError); answers are returned.
 */
export async function exchangeForRefreshToken(
  request: ExchangeRequest,
  signal: AbortSignal,
  deps: ExchangeDeps = {},
): Promise<ExchangeOutcome> {
  // Loaded only when an Azure connection is used: it costs start-up time.
  const rest = await import('@azure/core-rest-pipeline');
  const bounds = deps.bounds ?? { attemptTimeoutMs: DEFAULT_CREDENTIAL_TIMEOUT_SECONDS * 1000 };
  const settings = deps.retry ?? { ...DEFAULT_RETRY, maxRetryAfterMs: bounds.attemptTimeoutMs };
  const random = deps.random ?? Math.random;
  const strategy = backoffRetryStrategy('bkbAcrExchangeRetry', settings, random, signal, deps.onRetry);
  const pipeline = rest.createEmptyPipeline();
  pipeline.addPolicy(rest.userAgentPolicy({ userAgentPrefix: 'BuildKitBuild' }));
  pipeline.addPolicy(rest.proxyPolicy(sdkProxySettings(request.proxy)));
  pipeline.addPolicy(rest.retryPolicy([strategy], { maxRetries: settings.maxRetries }), { phase: 'Retry' });
  const httpRequest = rest.createPipelineRequest({
    url: `https://${request.loginServer}/oauth2/exchange`,
    method: 'POST',
    headers: rest.createHttpHeaders({
      'Content-Type': 'application/x-www-form-urlencoded',
      Accept: 'application/json',
    }),
    body: exchangeForm(request),
    abortSignal: signal,
  });
  // Each attempt is bounded by the client (a request without an answer in time is the network error it
  // is, and is retried); the run's signal aborts the attempt in flight and the waits between them.
  const client = boundedHttpClient(deps.httpClient ?? rest.createDefaultHttpClient(), {
    bounds,
    signal,
    trace: deps.trace ?? {},
    RestError: rest.RestError,
    ...(deps.onRetryAfterCut === undefined ? {} : { onRetryAfterCut: deps.onRetryAfterCut }),
  });
  const response = await pipeline.sendRequest(client, httpRequest);
  if (response.status >= 200 && response.status < 300) {
    const refreshToken = refreshTokenOf(response.bodyAsText);
    if (refreshToken !== undefined) return { kind: 'ok', refreshToken };
    return { kind: 'failed', status: response.status, detail: 'the answer holds no refresh_token' };
  }
  if (response.status === 400 || response.status === 401 || response.status === 403) {
    return { kind: 'rejected', status: response.status, detail: detailOf(response) };
  }
  return { kind: 'failed', status: response.status, detail: detailOf(response) };
}
