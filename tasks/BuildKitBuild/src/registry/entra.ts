import type { HttpClient } from '@azure/core-rest-pipeline';
import type { TokenCredential } from '@azure/identity';
import type { HttpProxy, RunContext } from '../core/context';
import type { Localize } from '../core/localize';
import { isPublicAuthority, type AzureCloud } from './clouds';
import { sdkProxySettings } from './proxySettings';

/** The identity behind an Azure Resource Manager service connection, one shape per scheme. */
export type AzureIdentity =
  | { readonly kind: 'secret'; readonly tenantId: string; readonly clientId: string; readonly secret: string }
  | {
      readonly kind: 'certificate';
      readonly tenantId: string;
      readonly clientId: string;
      readonly pem: string;
    }
  | {
      readonly kind: 'federated';
      readonly tenantId: string;
      readonly clientId: string;
      readonly serviceConnectionId: string;
      readonly systemAccessToken: string;
    }
  | {
      readonly kind: 'managed';
      readonly tenantId: string | undefined;
      readonly clientId: string | undefined;
    };

export interface AzureConnection {
  readonly endpointId: string;
  readonly identity: AzureIdentity;
  /** Entra ID authority host, e.g. `https://login.microsoftonline.com/`. */
  readonly authorityHost: string;
  /** True for authorities that are not Microsoft's public clouds (Azure Stack, sovereign, tests). */
  readonly disableInstanceDiscovery: boolean;
  /** Scope of an ACR-audience token in this cloud. */
  readonly acrScope: string;
  /** Scope of an ARM-audience token in this cloud. */
  readonly armScope: string;
  /** The agent's proxy towards the authority, when one applies. */
  readonly proxy?: HttpProxy;
}

/** A connection that cannot give a token; its message says what to fix. */
export class ConnectionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConnectionError';
  }
}

/** The endpoint id of the pipeline's own connection, holding System.AccessToken. */
const SYSTEM_CONNECTION = 'SYSTEMVSSCONNECTION';

function required(ctx: RunContext, endpointId: string, key: string): string {
  const value = ctx.endpoints.authParameter(endpointId, key)?.trim();
  if (value === undefined || value === '') throw new ConnectionError(ctx.loc('CredConnectionMissing', key));
  return value;
}

/** Masks every line of a PEM bundle but its BEGIN/END markers (secrets are single lines for the agent). */
function maskPem(pem: string, ctx: RunContext): void {
  for (const line of pem.split(/\r?\n/)) {
    const trimmed = line.trim();
    if (trimmed !== '' && !trimmed.startsWith('-----')) ctx.log.setSecret(trimmed);
  }
}

function readIdentity(endpointId: string, scheme: string, ctx: RunContext): AzureIdentity {
  switch (scheme.toLowerCase()) {
    case 'serviceprincipal': {
      const tenantId = required(ctx, endpointId, 'tenantid');
      const clientId = required(ctx, endpointId, 'serviceprincipalid');
      const type = ctx.endpoints.authParameter(endpointId, 'authenticationType')?.trim() ?? '';
      if (type.toLowerCase() === 'spncertificate') {
        const pem = required(ctx, endpointId, 'servicePrincipalCertificate');
        maskPem(pem, ctx);
        if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem) || !pem.includes('-----BEGIN CERTIFICATE-----')) {
          throw new ConnectionError(ctx.loc('CredCertificateNotPem'));
        }
        return { kind: 'certificate', tenantId, clientId, pem };
      }
      const secret = required(ctx, endpointId, 'serviceprincipalkey');
      ctx.log.setSecret(secret);
      return { kind: 'secret', tenantId, clientId, secret };
    }
    case 'workloadidentityfederation': {
      const tenantId = required(ctx, endpointId, 'tenantid');
      const clientId = required(ctx, endpointId, 'serviceprincipalid');
      const systemAccessToken = ctx.endpoints.authParameter(SYSTEM_CONNECTION, 'AccessToken')?.trim() ?? '';
      const oidcRequestUri = ctx.variable('System.OidcRequestUri')?.trim() ?? '';
      // The agent hands every task the SystemVssConnection endpoint and its token (the job's OAuth token
      // settings only govern scripts); System.OidcRequestUri is a job variable the server sets.
      if (systemAccessToken === '') throw new ConnectionError(ctx.loc('CredNoSystemToken'));
      if (oidcRequestUri === '') throw new ConnectionError(ctx.loc('CredNoOidcUri'));
      ctx.log.setSecret(systemAccessToken);
      return { kind: 'federated', tenantId, clientId, serviceConnectionId: endpointId, systemAccessToken };
    }
    case 'managedserviceidentity': {
      const tenantId = ctx.endpoints.authParameter(endpointId, 'tenantid')?.trim() || undefined;
      const clientId =
        ctx.endpoints.data(endpointId, 'msiclientId')?.trim() ||
        ctx.endpoints.authParameter(endpointId, 'msiclientId')?.trim() ||
        undefined;
      return { kind: 'managed', tenantId, clientId };
    }
    default:
      throw new ConnectionError(ctx.loc('CredSchemeUnsupported', scheme));
  }
}

/** `https://management.azure.com/` → `https://management.azure.com/.default`. */
function scopeOf(resource: string): string | undefined {
  try {
    const url = new URL(resource.trim());
    if (url.protocol !== 'https:') return undefined;
    return `${url.origin}${url.pathname.replace(/\/*$/, '/')}.default`;
  } catch {
    return undefined;
  }
}

/**
 * Reads the identity of an Azure Resource Manager connection (its cloud was read with the registry), masking every secret it holds
 * before anything could print it. Throws ConnectionError (a message saying what to fix) when incomplete.
 */
export function readAzureConnection(
  registry: { readonly endpointId: string; readonly cloud: AzureCloud },
  ctx: RunContext,
): AzureConnection {
  const { endpointId, cloud } = registry;
  const scheme = ctx.endpoints.scheme(endpointId)?.trim() || 'ServicePrincipal';
  const identity = readIdentity(endpointId, scheme, ctx);
  const authority =
    ctx.endpoints.data(endpointId, 'activeDirectoryAuthority')?.trim() ||
    ctx.endpoints.data(endpointId, 'environmentAuthorityUrl')?.trim() ||
    cloud.authorityHost;
  const armResource =
    ctx.endpoints.data(endpointId, 'resourceManagerUrl')?.trim() ||
    ctx.endpoints.url(endpointId)?.trim() ||
    '';
  const proxy = ctx.httpProxy(authority);
  return {
    endpointId,
    identity,
    authorityHost: authority,
    disableInstanceDiscovery: !isPublicAuthority(authority),
    acrScope: cloud.acrScope,
    armScope: scopeOf(armResource) ?? cloud.armScope,
    ...(proxy === undefined ? {} : { proxy }),
  };
}

/** The tenant to name in the ACR exchange. */
export function tenantOf(connection: AzureConnection): string | undefined {
  return connection.identity.tenantId;
}

/** A human name for the identity, for the log and messages. */
export function describeIdentity(identity: AzureIdentity, loc: Localize): string {
  switch (identity.kind) {
    case 'secret':
      return loc('CredIdentitySecret', identity.clientId);
    case 'certificate':
      return loc('CredIdentityCertificate', identity.clientId);
    case 'federated':
      return loc('CredIdentityFederated', identity.clientId);
    case 'managed':
      return identity.clientId === undefined
        ? loc('CredIdentityManagedSystem')
        : loc('CredIdentityManaged', identity.clientId);
  }
}

/**
 * The @azure/identity credential for a connection. The library is loaded here, only when needed. Every
 * request it makes (Entra ID, the Azure DevOps OIDC endpoint, the managed identity endpoint) goes
 * through `httpClient`, which bounds and records it.
 */
export async function createTokenCredential(
  connection: AzureConnection,
  httpClient: HttpClient,
): Promise<TokenCredential> {
  const identity = await import('./identityLibrary.js');
  const proxyOptions = sdkProxySettings(connection.proxy);
  const options = {
    authorityHost: connection.authorityHost,
    disableInstanceDiscovery: connection.disableInstanceDiscovery,
    httpClient,
    ...(proxyOptions === undefined ? {} : { proxyOptions }),
  };
  const who = connection.identity;
  switch (who.kind) {
    case 'secret':
      return new identity.ClientSecretCredential(who.tenantId, who.clientId, who.secret, options);
    case 'certificate':
      return new identity.ClientCertificateCredential(
        who.tenantId,
        who.clientId,
        { certificate: who.pem },
        options,
      );
    case 'federated':
      return new identity.AzurePipelinesCredential(
        who.tenantId,
        who.clientId,
        who.serviceConnectionId,
        who.systemAccessToken,
        options,
      );
    case 'managed':
      // No proxy: the managed identity endpoint is on the host's own link-local network.
      return who.clientId === undefined
        ? new identity.ManagedIdentityCredential({ httpClient })
        : new identity.ManagedIdentityCredential({ clientId: who.clientId, httpClient });
  }
}
