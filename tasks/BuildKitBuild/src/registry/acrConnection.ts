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
