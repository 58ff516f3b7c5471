import type { RunContext } from '../core/context';
import { errorText } from '../core/errorText';
import { describeIdentity, type AzureConnection } from './entra';
import { endpointOf, type HttpAttempt } from './httpBounds';

/**
 * Why a request for an Entra ID token failed and what the user reads about it: judged by the last HTTP
 * attempt the bounded client recorded (no answer, no connection, the proxy's 407, which endpoint
 * answered which error) before the text the library wrapped it in, so that a network problem is never
 * blamed on the service connection and an identity Entra ID refuses is not tried with another audience.
 */

/** The pipeline variable bounding each credential request (and the longest Retry-After honoured). */
export const CREDENTIAL_TIMEOUT_VARIABLE = 'BuildKitBuild.CredentialTimeoutSeconds';

/** The gist of a library error: @azure/identity errors carry a troubleshooting essay after the first lines. */
export function messageOf(error: unknown): string {
  const text = errorText(error);
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  return lines.slice(0, 3).join(' ').slice(0, 600);
}

/** The message for a request that got no answer within the bound, naming the party and its endpoint. */
export function timeoutMessage(
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
export function failureDetail(error: unknown, attempt: HttpAttempt | undefined): string {
  if (attempt?.kind === 'answered' && attempt.status >= 400) {
    const parts = [attempt.error, attempt.description].filter(
      (p): p is string => p !== undefined && p !== '',
    );
    if (parts.length > 0) return clause(parts.join(': '));
  }
  return clause(messageOf(error));
}

/** The message for a token request that failed, or undefined when another audience is worth a try. */
export function tokenFailureMessage(
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
export function oidcEndpointOf(ctx: RunContext): string | undefined {
  const uri = ctx.variable('System.OidcRequestUri')?.trim() ?? '';
  return uri === '' ? undefined : endpointOf(uri);
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
