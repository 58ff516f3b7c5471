import type { HttpClient } from '@azure/core-rest-pipeline';
import { cancelledBy } from '../core/cancellation';
import type { HttpProxy } from '../core/context';
import {
  InsecureTokenServiceError,
  RegistryClient,
  RegistryError,
  type RegistryAuth,
} from '../oci/registryClient';

/** The host:port of a URL as written, else the text itself (it only names where nothing was sent). */
function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

export interface TokenRequest {
  /** `myacr.azurecr.io`, `host:port`: the registry API is `https://<apiHost>/v2/`. */
  readonly apiHost: string;
  readonly scope: string;
  readonly auth: RegistryAuth;
  readonly proxy?: HttpProxy;
  /** Every token received, to be masked before anything could print it. */
  readonly onSecret: (value: string) => void;
  /** The transport (default: core-rest-pipeline's); tests replace it. */
  readonly httpClient?: HttpClient;
}

/** What the token service answered: a token, or why there is none (never holding a secret). */
export type TokenOutcome =
  | { readonly kind: 'token'; readonly token: string }
  | { readonly kind: 'noBearer' }
  | { readonly kind: 'refused'; readonly status: number }
  /** The challenge named a token service elsewhere than `https://<apiHost>`: nothing was sent there. */
  | { readonly kind: 'foreignTokenService'; readonly host: string }
  | { readonly kind: 'failed'; readonly detail: string };

/** Raised by the transport for a request to another origin than the registry's own. */
class ForeignOriginError extends Error {}

/**
 * A transport that sends only to `https://<apiHost>`: the check runs on ACR, whose token service is
 * always the registry itself (`https://<login server>/oauth2/token`), so a challenge naming any other
 * host, port or scheme gets neither the Entra refresh token nor the registry password. `refused` holds
 * the host it would have gone to.
 */
function sameOriginOnly(
  apiHost: string,
  inner: HttpClient,
): { readonly client: HttpClient; readonly refused: () => string | undefined } {
  const origin = new URL(`https://${apiHost}/`).origin;
  let refused: string | undefined;
  return {
    client: {
      sendRequest(outgoing) {
        const url = new URL(outgoing.url);
        if (url.origin !== origin) {
          refused ??= url.host;
          return Promise.reject(new ForeignOriginError('token service on another origin'));
        }
        return inner.sendRequest(outgoing);
      },
    },
    refused: () => refused,
  };
}

/**
 * Asks the registry's token service for a token for one scope, through the task's registry client (its
 * token flow, retries, timeouts and proxy: oci/registryClient.ts), sending nothing anywhere but the
 * registry itself. Throws only when the run is cancelled.
 */
export async function requestRegistryToken(
  request: TokenRequest,
  signal: AbortSignal,
): Promise<TokenOutcome> {
  const inner = request.httpClient ?? (await import('@azure/core-rest-pipeline')).createDefaultHttpClient();
  const guard = sameOriginOnly(request.apiHost, inner);
  const client = new RegistryClient({
    apiHost: request.apiHost,
    auth: request.auth,
    onSecret: request.onSecret,
    httpClient: guard.client,
    ...(request.proxy === undefined ? {} : { proxy: request.proxy }),
  });
  try {
    const token = await client.tokenForScope(request.scope, signal);
    return token === undefined ? { kind: 'noBearer' } : { kind: 'token', token };
  } catch (error: unknown) {
    if (signal.aborted) throw cancelledBy(signal);
    const foreign = guard.refused();
    if (foreign !== undefined) return { kind: 'foreignTokenService', host: foreign };
    // The client itself refuses a token service that is not HTTPS, before sending anything there.
    if (error instanceof InsecureTokenServiceError)
      return { kind: 'foreignTokenService', host: hostOf(error.realm) };
    if (error instanceof RegistryError && (error.status === 401 || error.status === 403))
      return { kind: 'refused', status: error.status };
    if (error instanceof RegistryError) return { kind: 'failed', detail: `HTTP ${error.status ?? '-'}` };
    const code = (error as { code?: unknown }).code;
    return { kind: 'failed', detail: typeof code === 'string' ? code : 'network error' };
  }
}
