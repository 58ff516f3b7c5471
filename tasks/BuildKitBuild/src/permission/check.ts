import type { BuildInputs } from '../buildInputs/spec';
import { cancelledBy, throwIfCancelled } from '../core/cancellation';
import { secondsVariable } from '../core/secondsVariable';
import { DEFAULT_CREDENTIAL_TIMEOUT_SECONDS } from '../registry/acrExchange';
import { CREDENTIAL_TIMEOUT_VARIABLE } from '../registry/tokenFailure';
import type { RunContext } from '../core/context';
import type { RegistryCredential } from '../registry/credentials';
import type { RegistrySpec } from '../registry/spec';
import { authFromEntry } from '../oci/entryAuth';
import type { RegistryAuth } from '../oci/registryClient';
import { accessClaim, missingGrants, type MissingGrant } from './grants';
import { requestRegistryToken, type TokenOutcome, type TokenRequest } from './registryToken';
import { scopesFor, scopeText, type RepositoryScope } from './scopes';

/** The edge the check talks to; tests replace it. */
export type TokenRequester = (request: TokenRequest, signal: AbortSignal) => Promise<TokenOutcome>;

/** `*.azurecr.io`, `.cn`, `.us`: an ACR, where a Docker Registry connection's user is an admin user or a token. */
function isAcrHost(host: string): boolean {
  return /\.azurecr\.(?:io|cn|us)(?::\d+)?$/i.test(host);
}

function tokenCredentialsOf(credential: RegistryCredential): RegistryAuth | undefined {
  const auth = authFromEntry(credential.entry);
  return auth.kind === 'anonymous' ? undefined : auth;
}

/** One sentence per repository the identity lacks rights on, naming what grants them. */
function missingMessage(
  missing: MissingGrant,
  granted: readonly string[],
  spec: RegistrySpec,
  host: string,
  identity: string,
  ctx: RunContext,
): string {
  const where = `${host}/${missing.repository}`;
  const wanted = missing.missing.join(', ');
  const has = granted.length === 0 ? ctx.loc('PermissionGrantedNothing') : granted.join(', ');
  const push = missing.missing.includes('push');
  if (spec.kind === 'azure') {
    return push
      ? ctx.loc(
          'PermissionMissingAzure',
          identity,
          wanted,
          where,
          has,
          'AcrPush',
          'Container Registry Repository Writer',
          'Container Registry Repository Contributor',
        )
      : ctx.loc(
          'PermissionMissingAzure',
          identity,
          wanted,
          where,
          has,
          'AcrPull',
          'Container Registry Repository Reader',
          'Container Registry Repository Contributor',
        );
  }
  return ctx.loc(
    'PermissionMissingAcrToken',
    identity,
    wanted,
    where,
    has,
    push ? 'content/read, content/write' : 'content/read',
    missing.repository,
  );
}

/**
 * Before the build: asks the registry for a token scoped to what the build will do and reads the actions
 * it grants (the token's `access` claim), so that a missing push right stops the task before a long
 * build instead of after it. A registry whose grants cannot be read (no bearer challenge, an opaque
 * token, a token service that fails) is not judged: the log says the check was skipped and the build
 * runs. Every token is masked before anything could print it.
 */
export async function checkRegistryPermissions(
  registry: RegistrySpec,
  build: BuildInputs,
  credentials: readonly RegistryCredential[],
  ctx: RunContext,
  signal: AbortSignal,
  request: TokenRequester = requestRegistryToken,
): Promise<void> {
  const credential = credentials[0];
  if (registry.kind === 'none' || credential === undefined) return;
  const host = registry.host;
  // Entra ID identities on any ACR, and a Docker Registry connection's user (an admin user or a scope-map
  // token) on an ACR: ACR's tokens list the granted actions. Other registries are left to the push.
  if (registry.kind === 'dockerRegistry' && !isAcrHost(host)) return;
  const tokenCredentials = tokenCredentialsOf(credential);
  if (tokenCredentials === undefined) return;
  const identity =
    credential.identity ?? (tokenCredentials.kind === 'basic' ? tokenCredentials.username : '-');
  const scopes: RepositoryScope[] = scopesFor(build, host);
  const apiHost = host;
  const proxy = ctx.httpProxy(`https://${apiHost}/`);
  const problems: string[] = [];
  // The whole check gets the credential timeout: a token service that does not answer skips the check
  // (the build is not held up by an advisory step); a cancellation still ends it as cancelled.
  const limitMs =
    secondsVariable(ctx, CREDENTIAL_TIMEOUT_VARIABLE, DEFAULT_CREDENTIAL_TIMEOUT_SECONDS) * 1000;
  const deadline = new AbortController();
  const timer = setTimeout(() => {
    deadline.abort('permission check timeout');
  }, limitMs);
  const bounded = AbortSignal.any([signal, deadline.signal]);
  try {
    for (const scope of scopes) {
      throwIfCancelled(signal);
      let outcome: TokenOutcome;
      try {
        outcome = await request(
          {
            apiHost,
            scope: scopeText(scope),
            auth: tokenCredentials,
            onSecret: (value) => {
              ctx.log.setSecret(value);
            },
            ...(proxy === undefined ? {} : { proxy }),
          },
          bounded,
        );
      } catch (error: unknown) {
        if (signal.aborted) throw cancelledBy(signal);
        if (!deadline.signal.aborted) throw error;
        ctx.log.info(
          ctx.loc(
            'PermissionCheckSkipped',
            host,
            ctx.loc('PermissionNoAnswer', limitMs / 1000, CREDENTIAL_TIMEOUT_VARIABLE),
          ),
        );
        return;
      }
      throwIfCancelled(signal);
      if (outcome.kind !== 'token') {
        const why =
          outcome.kind === 'noBearer'
            ? ctx.loc('PermissionNoBearer')
            : outcome.kind === 'refused'
              ? `HTTP ${outcome.status}`
              : outcome.kind === 'foreignTokenService'
                ? ctx.loc('PermissionForeignTokenService', outcome.host)
                : outcome.detail;
        ctx.log.info(ctx.loc('PermissionCheckSkipped', host, why));
        return;
      }
      ctx.log.setSecret(outcome.token);
      const access = accessClaim(outcome.token);
      if (access === undefined) {
        ctx.log.info(ctx.loc('PermissionCheckSkipped', host, ctx.loc('PermissionOpaqueToken')));
        return;
      }
      const granted = access
        .filter((a) => a.type === 'repository' && a.name === scope.repository)
        .flatMap((a) => a.actions);
      for (const missing of missingGrants([scope], access)) {
        problems.push(missingMessage(missing, granted, registry, host, identity, ctx));
      }
    }
  } finally {
    clearTimeout(timer);
  }
  if (problems.length > 0) throw new Error(`${problems.join(' ')} ${ctx.loc('PermissionNothingBuilt')}`);
  ctx.log.info(ctx.loc('PermissionGranted', identity, scopes.map(scopeText).join(' ')));
}
