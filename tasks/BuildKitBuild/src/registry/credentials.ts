import type { TokenCredential } from '@azure/identity';
import { cancelledBy, throwIfCancelled, untilCancelled } from '../core/cancellation';
import type { HttpProxy, RunContext } from '../core/context';
import { secondsVariable } from '../core/secondsVariable';
import {
  DEFAULT_CREDENTIAL_TIMEOUT_SECONDS,
  exchangeForRefreshToken,
  type ExchangeDeps,
  type ExchangeOutcome,
  type ExchangeRequest,
} from './acrExchange';
import {
  boundedHttpClient,
  type HttpAttempt,
  type HttpBounds,
  type HttpTrace,
  type RetryAfterCut,
} from './httpBounds';
import {
  ConnectionError,
  createTokenCredential,
  describeIdentity,
  readAzureConnection,
  tenantOf,
  type AzureConnection,
} from './entra';
import { registryCredential, type RegistryCredential } from './registryCredential';
import type { RegistryConnection, RegistrySpec } from './spec';
import {
  classifyTokenFailure,
  CREDENTIAL_TIMEOUT_VARIABLE,
  failureDetail,
  messageOf,
  oidcEndpointOf,
  timeoutMessage,
  tokenFailureMessage,
} from './tokenFailure';

export type { RegistryCredential } from './registryCredential';

/** How the requests of one credential phase are bounded, cancelled and recorded. */
export interface CredentialTransport {
  readonly bounds: HttpBounds;
  readonly signal: AbortSignal;
  readonly trace: HttpTrace;
  readonly onRetryAfterCut: (cut: RetryAfterCut) => void;
}

/** The edges the credential phase talks to; tests replace them. */
export interface CredentialDeps {
  createCredential(connection: AzureConnection, transport: CredentialTransport): Promise<TokenCredential>;
  exchange(request: ExchangeRequest, signal: AbortSignal, deps: ExchangeDeps): Promise<ExchangeOutcome>;
}

export const defaultCredentialDeps: CredentialDeps = {
  createCredential: async (connection, transport) => {
    // Loaded only when an Azure connection is used: it costs start-up time.
    const rest = await import('@azure/core-rest-pipeline');
    const client = boundedHttpClient(rest.createDefaultHttpClient(), {
      ...transport,
      RestError: rest.RestError,
    });
    return createTokenCredential(connection, client);
  },
  exchange: exchangeForRefreshToken,
};

/** The Docker Registry connection's username and password, for the registry parseRegistry resolved. */
function dockerRegistryCredential(
  registry: RegistryConnection & { readonly kind: 'dockerRegistry' },
  ctx: RunContext,
): RegistryCredential[] {
  const username = ctx.endpoints.authParameter(registry.endpointId, 'username') ?? '';
  const password = ctx.endpoints.authParameter(registry.endpointId, 'password') ?? '';
  const credential = registryCredential(registry, username, { password }, ctx);
  if (username === '' || password === '') throw new Error(ctx.loc('CredDockerIncomplete', registry.host));
  ctx.log.info(ctx.loc('CredDockerConnection', registry.host, username));
  return [credential];
}

type Audience = 'ACR' | 'ARM';

/** One credential phase: the connection, its credential and how its requests are bounded and recorded. */
interface Phase {
  readonly connection: AzureConnection;
  readonly credential: TokenCredential;
  readonly loginServer: string;
  readonly transport: CredentialTransport;
  readonly ctx: RunContext;
  readonly deps: CredentialDeps;
}

/** Asks for a token for one audience and exchanges it; failures to get the token come back as errors. */
async function tryAudience(
  audience: Audience,
  phase: Phase,
): Promise<{ outcome: ExchangeOutcome } | { tokenError: unknown; attempt: HttpAttempt | undefined }> {
  const { connection, credential, loginServer, transport, ctx, deps } = phase;
  const signal = transport.signal;
  const scope = audience === 'ACR' ? connection.acrScope : connection.armScope;
  let accessToken: string;
  transport.trace.last = undefined;
  try {
    // The library does not pass the signal on to every request it makes: the race ends the wait anyway.
    const token = await untilCancelled(credential.getToken(scope, { abortSignal: signal }), signal);
    if (token === null || token.token === '') throw new Error(ctx.loc('CredNoToken'));
    accessToken = token.token;
  } catch (error: unknown) {
    if (signal.aborted) throw cancelledBy(signal);
    return { tokenError: error, attempt: transport.trace.last as HttpAttempt | undefined };
  }
  ctx.log.setSecret(accessToken);
  ctx.log.debug(
    `Entra ID token for ${scope} obtained; exchanging it at https://${loginServer}/oauth2/exchange`,
  );
  transport.trace.last = undefined;
  try {
    const outcome = await untilCancelled(
      deps.exchange(
        {
          loginServer,
          tenant: tenantOf(connection),
          accessToken,
          ...proxyOption(ctx.httpProxy(`https://${loginServer}/`)),
        },
        signal,
        {
          bounds: transport.bounds,
          trace: transport.trace,
          onRetryAfterCut: transport.onRetryAfterCut,
          onRetry: (notice) => {
            ctx.log.info(
              ctx.loc(
                'CredExchangeRetry',
                loginServer,
                notice.reason,
                notice.attempt,
                (notice.delayMs / 1000).toFixed(1),
              ),
            );
          },
        },
      ),
      signal,
    );
    if (outcome.kind === 'ok') ctx.log.setSecret(outcome.refreshToken);
    return { outcome };
  } catch (error: unknown) {
    if (signal.aborted) throw cancelledBy(signal);
    // Written by the bounded client while the exchange ran.
    const last = transport.trace.last as HttpAttempt | undefined;
    if (last?.kind === 'timedOut') {
      throw new Error(timeoutMessage(ctx.loc('CredEndpointExchange'), last, ctx), { cause: error });
    }
    throw new Error(ctx.loc('CredExchangeUnreachable', loginServer, messageOf(error)), { cause: error });
  }
}

/**
 * Entra ID → ACR refresh token. An ACR-audience token first (it also works where Azure Policy disables
 * ARM-audience tokens); an ARM-audience token when the registry refuses the first, or Entra ID does not
 * know the ACR resource. An identity Entra ID refuses, a service that fails or cannot be reached, and
 * a failed OIDC request end the phase at once: another audience would fail the same way.
 */
async function azureCredential(
  registry: RegistryConnection & { readonly kind: 'azure' },
  push: boolean,
  ctx: RunContext,
  signal: AbortSignal,
  deps: CredentialDeps,
): Promise<RegistryCredential[]> {
  const loginServer = registry.host;
  let connection: AzureConnection;
  try {
    connection = readAzureConnection(registry, ctx);
  } catch (error: unknown) {
    if (error instanceof ConnectionError) {
      throw new Error(
        registry.via === 'acrDockerRegistry'
          ? ctx.loc('CredAcrConnectionUnusable', error.message)
          : ctx.loc('CredConnectionUnusable', error.message),
        { cause: error },
      );
    }
    throw error;
  }
  const identity = describeIdentity(connection.identity, ctx.loc);
  ctx.log.info(
    registry.via === 'acrDockerRegistry'
      ? ctx.loc('CredAcrConnectionStart', loginServer, identity)
      : ctx.loc('CredAzureStart', loginServer, identity),
  );
  const timeoutMs =
    secondsVariable(ctx, CREDENTIAL_TIMEOUT_VARIABLE, DEFAULT_CREDENTIAL_TIMEOUT_SECONDS) * 1000;
  const transport: CredentialTransport = {
    bounds: { attemptTimeoutMs: timeoutMs },
    signal,
    trace: {},
    onRetryAfterCut: (cut) => {
      ctx.log.info(
        ctx.loc(
          'CredRetryAfterCut',
          cut.endpoint,
          Math.round(cut.askedMs / 1000),
          cut.waitMs / 1000,
          CREDENTIAL_TIMEOUT_VARIABLE,
        ),
      );
    },
  };
  const credential = await untilCancelled(deps.createCredential(connection, transport), signal);
  throwIfCancelled(signal);
  const phase: Phase = { connection, credential, loginServer, transport, ctx, deps };
  const oidcEndpoint = connection.identity.kind === 'federated' ? oidcEndpointOf(ctx) : undefined;

  const first = await tryAudience('ACR', phase);
  let why: string;
  if ('tokenError' in first) {
    const failure = classifyTokenFailure(first.tokenError, first.attempt, oidcEndpoint);
    const fatal = tokenFailureMessage(failure, first, connection, ctx, false);
    if (fatal !== undefined) throw new Error(fatal, { cause: first.tokenError });
    why = failureDetail(first.tokenError, first.attempt);
  } else {
    const outcome = first.outcome;
    if (outcome.kind === 'ok') {
      ctx.log.info(ctx.loc('CredAudienceAcr', loginServer));
      return [acrCredential(registry, outcome.refreshToken, identity, ctx)];
    }
    if (outcome.kind === 'failed') {
      throw new Error(ctx.loc('CredExchangeFailed', loginServer, outcome.status ?? '-', outcome.detail));
    }
    why = `HTTP ${outcome.status}`;
  }
  ctx.log.info(ctx.loc('CredAudienceFallback', loginServer, why));

  throwIfCancelled(signal);
  const second = await tryAudience('ARM', phase);
  if ('tokenError' in second) {
    const failure = classifyTokenFailure(second.tokenError, second.attempt, oidcEndpoint);
    throw new Error(tokenFailureMessage(failure, second, connection, ctx, true), {
      cause: second.tokenError,
    });
  }
  const outcome = second.outcome;
  switch (outcome.kind) {
    case 'ok':
      ctx.log.info(ctx.loc('CredAudienceArm', loginServer));
      return [acrCredential(registry, outcome.refreshToken, identity, ctx)];
    case 'rejected': {
      const role = push ? 'AcrPush' : 'AcrPull';
      throw new Error(
        ctx.loc(
          'CredExchangeDenied',
          loginServer,
          describeIdentity(connection.identity, ctx.loc),
          outcome.status,
          role,
          role,
          outcome.detail || '-',
        ),
      );
    }
    case 'failed':
      throw new Error(ctx.loc('CredExchangeFailed', loginServer, outcome.status ?? '-', outcome.detail));
  }
}

/** `{ proxy }` when a proxy applies, else nothing: absent, not undefined. */
function proxyOption(proxy: HttpProxy | undefined): { proxy?: HttpProxy } {
  return proxy === undefined ? {} : { proxy };
}

/** ACR's docker config entry: the refresh token as identitytoken, with the all-zero user ACR expects. */
function acrCredential(
  registry: RegistryConnection,
  refreshToken: string,
  identity: string,
  ctx: RunContext,
): RegistryCredential {
  return {
    ...registryCredential(
      registry,
      '00000000-0000-0000-0000-000000000000',
      { identityToken: refreshToken },
      ctx,
    ),
    identity,
  };
}

/**
 * Fetches registry credentials through the service connection, before the build starts (federated
 * assertions live about ten minutes). Every secret is masked as soon as the task holds it.
 */
export async function getRegistryCredentials(
  spec: RegistrySpec,
  access: { readonly push: boolean },
  ctx: RunContext,
  signal: AbortSignal,
  deps: CredentialDeps = defaultCredentialDeps,
): Promise<RegistryCredential[]> {
  switch (spec.kind) {
    case 'none':
      return [];
    case 'dockerRegistry':
      return dockerRegistryCredential(spec, ctx);
    case 'azure':
      return azureCredential(spec, access.push, ctx, signal, deps);
  }
}
