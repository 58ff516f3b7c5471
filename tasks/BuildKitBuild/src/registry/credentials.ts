import type { TokenCredential } from '@azure/identity';
import { cancelledBy, throwIfCancelled, untilCancelled } from '../cancellation';
import type { HttpProxy, RunContext } from '../context';
import { secondsVariable } from '../secondsVariable';
import {
  DEFAULT_CREDENTIAL_TIMEOUT_SECONDS,
  exchangeForRefreshToken,
  type ExchangeDeps,
  type ExchangeOutcome,
  type ExchangeRequest,
} from './acrExchange';
import {
  boundedHttpClient,
  endpointOf,
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
import type { RegistrySpec } from './spec';
import { errorText } from '../errorText';

/** One entry of the private docker config, keyed by registry host as BuildKit looks it up. */
export interface RegistryCredential {
  readonly registry: string;
  readonly username?: string;
  readonly password?: string;
  /** An ACR refresh token, written as `identitytoken`. */
  readonly identityToken?: string;
}

/** The pipeline variable bounding each credential request (and the longest Retry-After honoured). */
export const CREDENTIAL_TIMEOUT_VARIABLE = 'BuildKitBuild.CredentialTimeoutSeconds';

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

function messageOf(error: unknown): string {
  const text = errorText(error);
  // @azure/identity errors carry a troubleshooting essay after the first lines: keep the gist.
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  return lines.slice(0, 3).join(' ').slice(0, 600);
}

/** The Docker Registry connection's username and password, for the registry parseRegistry resolved. */
function dockerRegistryCredential(
  endpointId: string,
  configKey: string,
  imageHost: string,
  ctx: RunContext,
): RegistryCredential[] {
  const username = ctx.endpoints.authParameter(endpointId, 'username') ?? '';
  const password = ctx.endpoints.authParameter(endpointId, 'password') ?? '';
  if (password !== '') ctx.log.setSecret(password);
  if (username === '' || password === '') throw new Error(ctx.loc('CredDockerIncomplete', imageHost));
  ctx.log.info(ctx.loc('CredDockerConnection', imageHost, username));
  return [{ registry: configKey, username, password }];
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

function timeoutMessage(
  what: string,
  attempt: { endpoint: string; timeoutMs: number },
  ctx: RunContext,
): string {
  return ctx.loc(
    'CredRequestTimeout',
    what,
    attempt.endpoint,
    attempt.timeoutMs / 1000,
    CREDENTIAL_TIMEOUT_VARIABLE,
  );
}

/** Why a token request failed, judged by the last attempt on the wire first and the library's text second. */
export type TokenFailure =
  | { readonly kind: 'timeout'; readonly endpoint: string; readonly timeoutMs: number }
  | { readonly kind: 'unreachable'; readonly endpoint: string; readonly detail: string }
  | { readonly kind: 'proxyRefused'; readonly endpoint: string }
  | { readonly kind: 'oidc'; readonly endpoint: string; readonly status: number; readonly detail: string }
  | { readonly kind: 'outage' }
  /** Entra ID does not know the resource (scope) asked for: another audience may work. */
  | { readonly kind: 'audience' }
  /** Entra ID (or the managed identity endpoint) refused the identity itself: no audience will work. */
  | { readonly kind: 'identity' }
  | { readonly kind: 'other' };

/** Entra ID errors about the resource asked for, not the identity asking. */
const AUDIENCE_ERROR =
  /\b(invalid_resource|invalid_scope|AADSTS500011|AADSTS500014|AADSTS650057|AADSTS1002012)\b/;
/** OAuth errors by which Entra ID refuses the client itself. */
const IDENTITY_ERRORS = new Set([
  'invalid_client',
  'unauthorized_client',
  'invalid_request',
  'invalid_grant',
]);

/**
 * Pure: classifies a failed token request. `attempt` is the last HTTP attempt the bounded client saw;
 * `oidcEndpoint` the Azure DevOps OIDC endpoint of a workload identity federation connection.
 */
export function classifyTokenFailure(
  error: unknown,
  attempt: HttpAttempt | undefined,
  oidcEndpoint: string | undefined,
): TokenFailure {
  if (attempt?.kind === 'timedOut')
    return { kind: 'timeout', endpoint: attempt.endpoint, timeoutMs: attempt.timeoutMs };
  if (attempt?.kind === 'unreachable')
    return { kind: 'unreachable', endpoint: attempt.endpoint, detail: attempt.detail };
  if (attempt?.kind === 'answered' && attempt.status === 407)
    return { kind: 'proxyRefused', endpoint: attempt.endpoint };
  if (attempt?.kind === 'answered' && attempt.status >= 400 && attempt.endpoint === oidcEndpoint) {
    return {
      kind: 'oidc',
      endpoint: attempt.endpoint,
      status: attempt.status,
      detail: attempt.description ?? '',
    };
  }
  if (isServiceOutage(error)) return { kind: 'outage' };
  if (attempt?.kind === 'answered' && (attempt.status === 429 || attempt.status >= 500))
    return { kind: 'outage' };
  const text = `${attempt?.kind === 'answered' ? `${attempt.error ?? ''} ${attempt.description ?? ''} ` : ''}${messageOf(error)}`;
  if (AUDIENCE_ERROR.test(text)) return { kind: 'audience' };
  if (attempt?.kind === 'answered' && attempt.error !== undefined && IDENTITY_ERRORS.has(attempt.error)) {
    return { kind: 'identity' };
  }
  if (/\b(invalid_client|unauthorized_client)\b|\bAADSTS\d+\b/.test(text)) return { kind: 'identity' };
  return { kind: 'other' };
}

/** What usually makes Entra ID (or the managed identity endpoint) refuse an identity of this kind. */
function identityHint(identity: AzureConnection['identity'], ctx: RunContext): string {
  switch (identity.kind) {
    case 'secret':
      return ctx.loc('CredIdentityHintSecret');
    case 'certificate':
      return ctx.loc('CredIdentityHintCertificate');
    case 'federated':
      return ctx.loc('CredIdentityHintFederated');
    case 'managed':
      return ctx.loc('CredIdentityHintManaged');
  }
}

/** What usually makes the Azure DevOps OIDC request fail with this status. */
function oidcHint(status: number, ctx: RunContext): string {
  if (status === 401 || status === 403) return ctx.loc('CredOidcHintToken');
  if (status === 400 || status === 404) return ctx.loc('CredOidcHintConnection');
  return ctx.loc('CredOidcHintService');
}

/** Text for the end of a sentence: no trailing full stop of its own (the message adds one). */
function clause(text: string): string {
  return text.trim().replace(/[.\s]+$/, '');
}

/**
 * The gist of a failed token request: the error answer as the service gave it (`invalid_client:
 * AADSTS7000215: ...`) when there was one, else the library's text.
 */
function failureDetail(error: unknown, attempt: HttpAttempt | undefined): string {
  if (attempt?.kind === 'answered' && attempt.status >= 400) {
    const parts = [attempt.error, attempt.description].filter(
      (p): p is string => p !== undefined && p !== '',
    );
    if (parts.length > 0) return clause(parts.join(': '));
  }
  return clause(messageOf(error));
}

/** The message for a token request that failed, or undefined when another audience is worth a try. */
function tokenFailureMessage(
  failure: TokenFailure,
  failed: { readonly tokenError: unknown; readonly attempt: HttpAttempt | undefined },
  connection: AzureConnection,
  ctx: RunContext,
  last: boolean,
): string | undefined {
  const who = describeIdentity(connection.identity, ctx.loc);
  const detail = failureDetail(failed.tokenError, failed.attempt);
  switch (failure.kind) {
    case 'timeout':
      return timeoutMessage(endpointName(failure.endpoint, connection, ctx), failure, ctx);
    case 'unreachable':
      return ctx.loc(
        'CredTransportFailed',
        endpointName(failure.endpoint, connection, ctx),
        failure.endpoint,
        clause(failure.detail),
      );
    case 'proxyRefused':
      return ctx.loc('CredProxyRefused', endpointName(failure.endpoint, connection, ctx), failure.endpoint);
    case 'oidc':
      return ctx.loc(
        'CredOidcFailed',
        failure.endpoint,
        failure.status,
        clause(failure.detail) || detail,
        oidcHint(failure.status, ctx),
      );
    case 'outage':
      return ctx.loc('CredTokenUnavailable', who, detail);
    case 'identity':
      return ctx.loc('CredIdentityRefused', who, detail, identityHint(connection.identity, ctx));
    case 'audience':
    case 'other':
      return last ? ctx.loc('CredTokenFailed', who, detail) : undefined;
  }
}

/** Which party an endpoint is, for messages: the OIDC endpoint, the managed identity endpoint or Entra ID. */
function endpointName(endpoint: string, connection: AzureConnection, ctx: RunContext): string {
  if (connection.identity.kind === 'federated' && endpoint === oidcEndpointOf(ctx))
    return ctx.loc('CredEndpointOidc');
  if (connection.identity.kind === 'managed') return ctx.loc('CredEndpointManaged');
  return ctx.loc('CredEndpointEntra');
}

/** The Azure DevOps OIDC endpoint (System.OidcRequestUri without its query), when there is one. */
function oidcEndpointOf(ctx: RunContext): string | undefined {
  const uri = ctx.variable('System.OidcRequestUri')?.trim() ?? '';
  return uri === '' ? undefined : endpointOf(uri);
}

/**
 * Entra ID → ACR refresh token. An ACR-audience token first (it also works where Azure Policy disables
 * ARM-audience tokens); an ARM-audience token when the registry refuses the first, or Entra ID does not
 * know the ACR resource. An identity Entra ID refuses, a service that fails or cannot be reached, and
 * a failed OIDC request end the phase at once: another audience would fail the same way.
 */
async function azureCredential(
  endpointId: string,
  loginServer: string,
  push: boolean,
  ctx: RunContext,
  signal: AbortSignal,
  deps: CredentialDeps,
): Promise<RegistryCredential[]> {
  let connection: AzureConnection;
  try {
    connection = readAzureConnection(endpointId, ctx);
  } catch (error: unknown) {
    if (error instanceof ConnectionError) {
      throw new Error(ctx.loc('CredConnectionUnusable', error.message), { cause: error });
    }
    throw error;
  }
  ctx.log.info(ctx.loc('CredAzureStart', loginServer, describeIdentity(connection.identity, ctx.loc)));
  const timeoutMs = secondsVariable(ctx, CREDENTIAL_TIMEOUT_VARIABLE, DEFAULT_CREDENTIAL_TIMEOUT_SECONDS);
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
      return [acrEntry(loginServer, outcome.refreshToken)];
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
      return [acrEntry(loginServer, outcome.refreshToken)];
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

/**
 * Pure: whether a token error is Entra ID's or Azure DevOps' service failing (5xx, 429 after the
 * library's retries) rather than the identity being refused, so the advice can differ.
 */
export function isServiceOutage(error: unknown): boolean {
  const status = (error as { statusCode?: unknown } | undefined)?.statusCode;
  if (typeof status === 'number') return status === 429 || status >= 500;
  return /\b(temporarily_unavailable|server_error)\b|Status code: (429|5\d\d)\b/.test(messageOf(error));
}

/** ACR's docker config entry: the refresh token as identitytoken, with the all-zero user ACR expects. */
function acrEntry(loginServer: string, refreshToken: string): RegistryCredential {
  return {
    registry: loginServer,
    username: '00000000-0000-0000-0000-000000000000',
    identityToken: refreshToken,
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
  switch (spec.auth.kind) {
    case 'none':
      return [];
    case 'dockerRegistry':
      return dockerRegistryCredential(spec.auth.endpointId, spec.auth.configKey, spec.host ?? '', ctx);
    case 'azure':
      return azureCredential(spec.auth.endpointId, spec.auth.loginServer, access.push, ctx, signal, deps);
  }
}
