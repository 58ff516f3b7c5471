import { cancelledBy } from '../core/cancellation';
import type { HttpProxy } from '../core/context';
import { RegistryClient, RegistryError, type RegistryAuth } from '../oci/registryClient';

export interface TokenRequest {
  /** `myacr.azurecr.io`, `host:port`: the registry API is `https://<apiHost>/v2/`. */
  readonly apiHost: string;
  readonly scope: string;
  readonly auth: RegistryAuth;
  readonly proxy?: HttpProxy;
  /** Every token received, to be masked before anything could print it. */
  readonly onSecret: (value: string) => void;
}

/** What the token service answered: a token, or why there is none (never holding a secret). */
export type TokenOutcome =
  | { readonly kind: 'token'; readonly token: string }
  | { readonly kind: 'noBearer' }
  | { readonly kind: 'refused'; readonly status: number }
  | { readonly kind: 'failed'; readonly detail: string };

/**
 * Asks the registry's token service for a token for one scope, through the task's registry client (its
 * token flow, retries, timeouts and proxy: oci/registryClient.ts). Throws only when the run is cancelled.
 */
export async function requestRegistryToken(
  request: TokenRequest,
  signal: AbortSignal,
): Promise<TokenOutcome> {
  const client = new RegistryClient({
    apiHost: request.apiHost,
    auth: request.auth,
    onSecret: request.onSecret,
    ...(request.proxy === undefined ? {} : { proxy: request.proxy }),
  });
  try {
    const token = await client.tokenForScope(request.scope, signal);
    return token === undefined ? { kind: 'noBearer' } : { kind: 'token', token };
  } catch (error: unknown) {
    if (signal.aborted) throw cancelledBy(signal);
    if (error instanceof RegistryError && (error.status === 401 || error.status === 403))
      return { kind: 'refused', status: error.status };
    if (error instanceof RegistryError) return { kind: 'failed', detail: `HTTP ${error.status ?? '-'}` };
    const code = (error as { code?: unknown }).code;
    return { kind: 'failed', detail: typeof code === 'string' ? code : 'network error' };
  }
}
