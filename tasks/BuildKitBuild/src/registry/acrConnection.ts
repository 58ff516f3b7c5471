import type { EndpointReader } from '../core/context';

/**
 * A Docker Registry service connection of type Azure Container Registry, as Azure DevOps creates it
 * ("Docker Registry" → "Azure Container Registry"): endpoint data `registrytype` is `ACR`, the
 * authorization parameter `loginServer` names the registry, and the scheme is ServicePrincipal,
 * ManagedServiceIdentity or WorkloadIdentityFederation, with the identity's parameters
 * (`serviceprincipalid`, `serviceprincipalkey`, `tenantid`) under the same names as an Azure Resource
 * Manager connection. Such a connection has no username or password; its credentials come from Entra ID.
 */
export function isAcrDockerRegistry(endpointId: string, endpoints: EndpointReader): boolean {
  return (endpoints.data(endpointId, 'registrytype') ?? '').trim().toUpperCase() === 'ACR';
}

/** The login server of an ACR-type Docker Registry connection (`myacr.azurecr.io`), as given. */
export function acrConnectionLoginServer(endpointId: string, endpoints: EndpointReader): string {
  return (endpoints.authParameter(endpointId, 'loginServer') ?? '').trim();
}

/** A login server of the clouds the task supports: `<name>.azurecr.io`, `.cn`, `.us` (with a port, if given). */
const ACR_HOST = /^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+azurecr\.(?:io|cn|us)(?::\d{1,5})?$/;
/** A registry on this machine (the loopback services of the tests, a local mirror): nothing leaves it. */
const LOOPBACK_HOST = /^(?:localhost|127(?:\.\d{1,3}){3}|\[::1\])(?::\d{1,5})?$/;

/**
 * Pure: whether the login server of an ACR-type Docker Registry connection may be sent the connection's
 * Entra ID token (`https://<login server>/oauth2/exchange`). Azure DevOps fills it from the registry the
 * user chose, so it is always an ACR host; any other host (an edited connection) would receive a token
 * for the identity, as Docker@2 also refuses. Loopback hosts are accepted: the token stays on the agent.
 */
export function isAcrConnectionHost(host: string): boolean {
  const value = host.trim().toLowerCase();
  return ACR_HOST.test(value) || LOOPBACK_HOST.test(value);
}
