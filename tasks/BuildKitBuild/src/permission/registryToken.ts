import type { HttpClient, RetryInformation, RetryModifiers } from '@azure/core-rest-pipeline';
import { cancelledBy } from '../cancellation';
import type { HttpProxy } from '../context';
import { DEFAULT_RETRY, retryDelay } from '../registry/acrExchange';
import { boundedHttpClient, type HttpBounds } from '../registry/httpBounds';
import { sdkProxySettings } from '../registry/proxySettings';

/** How the task may ask the registry's token service for a token. */
export type TokenCredentials =
  /** An ACR refresh token: POSTed to the realm as `grant_type=refresh_token` (ACR's OAuth2 token flow). */
  | { readonly kind: 'refreshToken'; readonly refreshToken: string }
  /** A user name and password: `GET <realm>?service=&scope=` with basic authentication (the Docker token spec). */
  | { readonly kind: 'basic'; readonly username: string; readonly password: string };

export interface TokenRequest {
  /** `myacr.azurecr.io`, `host:port`: the registry API is `https://<apiHost>/v2/`. */
  readonly apiHost: string;
  readonly scope: string;
  readonly credentials: TokenCredentials;
  readonly proxy?: HttpProxy;
  readonly bounds: HttpBounds;
  readonly httpClient?: HttpClient;
}

/** What the token service answered: a token, or why there is none (never holding a secret). */
export type TokenOutcome =
  | { readonly kind: 'token'; readonly token: string }
  | { readonly kind: 'noBearer' }
  | { readonly kind: 'refused'; readonly status: number }
  | { readonly kind: 'failed'; readonly detail: string };

/** Pure: the `realm` and `service` of a `WWW-Authenticate: Bearer realm="…",service="…"` challenge. */
export function bearerChallenge(header: string | undefined): { realm: string; service?: string } | undefined {
  if (header === undefined || !/^\s*bearer\s/i.test(header)) return undefined;
  const params = new Map<string, string>();
  for (const match of header.matchAll(/(\w+)="([^"]*)"/g))
    params.set((match[1] ?? '').toLowerCase(), match[2] ?? '');
  const realm = params.get('realm');
  if (realm === undefined || realm === '') return undefined;
  const service = params.get('service');
  return service === undefined ? { realm } : { realm, service };
}

/** Reads `{"access_token": …}` or `{"token": …}`. */
function tokenOf(body: string | undefined): string | undefined {
  try {
    const parsed = JSON.parse(body ?? '') as Record<string, unknown>;
    const token = parsed.access_token ?? parsed.token;
    return typeof token === 'string' && token !== '' ? token : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Asks the registry for an access token for one scope: the challenge of `GET /v2/` names the token
 * service, which is asked with the task's credentials. Network errors, 429 and 5xx are retried as the
 * exchange's are. Throws only when the run is cancelled.
 */
export async function requestRegistryToken(
  request: TokenRequest,
  signal: AbortSignal,
): Promise<TokenOutcome> {
  const rest = await import('@azure/core-rest-pipeline');
  const settings = { ...DEFAULT_RETRY, maxRetryAfterMs: request.bounds.attemptTimeoutMs };
  const pipeline = rest.createEmptyPipeline();
  pipeline.addPolicy(rest.userAgentPolicy({ userAgentPrefix: 'BuildKitBuild' }));
  pipeline.addPolicy(rest.proxyPolicy(sdkProxySettings(request.proxy)));
  pipeline.addPolicy(
    rest.retryPolicy(
      [
        {
          name: 'bkbRegistryTokenRetry',
          retry(state: RetryInformation): RetryModifiers {
            const error = state.responseError;
            const delay = signal.aborted
              ? undefined
              : retryDelay(
                  {
                    retryCount: state.retryCount,
                    status: state.response?.status,
                    retryAfter: state.response?.headers.get('retry-after') ?? undefined,
                    errorCode: error?.code,
                  },
                  settings,
                  Math.random,
                  Date.now(),
                );
            if (delay === undefined)
              return error === undefined ? { skipStrategy: true } : { errorToThrow: error };
            return { retryAfterInMs: delay };
          },
        },
      ],
      { maxRetries: settings.maxRetries },
    ),
    { phase: 'Retry' },
  );
  const client = boundedHttpClient(request.httpClient ?? rest.createDefaultHttpClient(), {
    bounds: request.bounds,
    signal,
    trace: {},
    RestError: rest.RestError,
  });
  const send = (options: Parameters<typeof rest.createPipelineRequest>[0]) =>
    pipeline.sendRequest(client, rest.createPipelineRequest({ ...options, abortSignal: signal }));
  try {
    const probe = await send({ url: `https://${request.apiHost}/v2/`, method: 'GET' });
    const challenge = bearerChallenge(probe.headers.get('www-authenticate') ?? undefined);
    if (challenge === undefined) return { kind: 'noBearer' };
    // Credentials go only to an HTTPS token service, and an ACR refresh token only to the registry itself.
    const realm = new URL(challenge.realm);
    const sameHost = realm.host.toLowerCase() === request.apiHost.toLowerCase();
    if (realm.protocol !== 'https:' || (request.credentials.kind === 'refreshToken' && !sameHost))
      return { kind: 'failed', detail: `token service ${realm.origin}` };
    const service = challenge.service ?? request.apiHost;
    const credentials = request.credentials;
    const response =
      credentials.kind === 'refreshToken'
        ? await send({
            url: challenge.realm,
            method: 'POST',
            headers: rest.createHttpHeaders({ 'Content-Type': 'application/x-www-form-urlencoded' }),
            body: new URLSearchParams({
              grant_type: 'refresh_token',
              service,
              scope: request.scope,
              refresh_token: credentials.refreshToken,
            }).toString(),
          })
        : await send({
            url: `${challenge.realm}${challenge.realm.includes('?') ? '&' : '?'}${new URLSearchParams({ service, scope: request.scope }).toString()}`,
            method: 'GET',
            headers: rest.createHttpHeaders({
              Authorization: `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`,
            }),
          });
    if (response.status === 401 || response.status === 403)
      return { kind: 'refused', status: response.status };
    if (response.status < 200 || response.status >= 300)
      return { kind: 'failed', detail: `HTTP ${response.status}` };
    const token = tokenOf(response.bodyAsText ?? undefined);
    return token === undefined
      ? { kind: 'failed', detail: 'the answer holds no token' }
      : { kind: 'token', token };
  } catch (error: unknown) {
    if (signal.aborted) throw cancelledBy(signal);
    const code = (error as { code?: unknown }).code;
    return { kind: 'failed', detail: typeof code === 'string' ? code : 'network error' };
  }
}
