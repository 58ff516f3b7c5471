import type { TokenCredential } from '@azure/identity';
import { cancelledBy, throwIfCancelled } from '../cancellation';
import type { HttpProxy, RunContext } from '../context';
import {
  exchangeForRefreshToken,
  type ExchangeDeps,
  type ExchangeOutcome,
  type ExchangeRequest,
} from './acrExchange';
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

/** The edges the credential phase talks to; tests replace them. */
export interface CredentialDeps {
  createCredential(connection: AzureConnection): Promise<TokenCredential>;
  exchange(request: ExchangeRequest, signal: AbortSignal, deps: ExchangeDeps): Promise<ExchangeOutcome>;
}

export const defaultCredentialDeps: CredentialDeps = {
  createCredential: createTokenCredential,
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

/** Asks for a token for one audience and exchanges it; failures to get the token come back as errors. */
async function tryAudience(
  audience: Audience,
  connection: AzureConnection,
  credential: TokenCredential,
  loginServer: string,
  ctx: RunContext,
  signal: AbortSignal,
  deps: CredentialDeps,
): Promise<{ outcome: ExchangeOutcome } | { tokenError: unknown }> {
  const scope = audience === 'ACR' ? connection.acrScope : connection.armScope;
  let accessToken: string;
  try {
    const token = await credential.getToken(scope, { abortSignal: signal });
    if (token === null || token.token === '') throw new Error(ctx.loc('CredNoToken'));
    accessToken = token.token;
  } catch (error: unknown) {
    if (signal.aborted) throw cancelledBy(signal);
    return { tokenError: error };
  }
  ctx.log.setSecret(accessToken);
  ctx.log.debug(
    `Entra ID token for ${scope} obtained; exchanging it at https://${loginServer}/oauth2/exchange`,
  );
  try {
    const outcome = await deps.exchange(
      {
        loginServer,
        tenant: tenantOf(connection),
        accessToken,
        ...proxyOption(ctx.httpProxy(`https://${loginServer}/`)),
      },
      signal,
      {
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
    );
    if (outcome.kind === 'ok') ctx.log.setSecret(outcome.refreshToken);
    return { outcome };
  } catch (error: unknown) {
    if (signal.aborted) throw cancelledBy(signal);
    throw new Error(ctx.loc('CredExchangeUnreachable', loginServer, messageOf(error)), { cause: error });
  }
}

/**
 * Entra ID → ACR refresh token. An ACR-audience token first (it also works where Azure Policy disables
 * ARM-audience tokens); an ARM-audience token when the registry or Entra ID refuses the first.
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
  const credential = await deps.createCredential(connection);
  throwIfCancelled(signal);

  const first = await tryAudience('ACR', connection, credential, loginServer, ctx, signal, deps);
  let why: string;
  if ('tokenError' in first) {
    why = messageOf(first.tokenError);
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
  const second = await tryAudience('ARM', connection, credential, loginServer, ctx, signal, deps);
  if ('tokenError' in second) {
    const who = describeIdentity(connection.identity, ctx.loc);
    const detail = messageOf(second.tokenError);
    throw new Error(
      isServiceOutage(second.tokenError)
        ? ctx.loc('CredTokenUnavailable', who, detail)
        : ctx.loc('CredTokenFailed', who, detail),
    );
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
