import type { EndpointReader } from '../core/context';

/**
 * Why an Azure Resource Manager connection cannot be used here, or undefined when it can: Azure Stack
 * Hub (`environment` `AzureStack`) and connections whose authority is Active Directory Federation
 * Services (an authority URL ending in `/adfs`, as Azure Stack Hub with AD FS hands over, or the data
 * flag `EnableAdfsAuthentication` = `true`, which is what azure-arm-rest reads for AD FS). Both need
 * the connection's `/metadata/endpoints` and an ADFS token flow, which the task does not implement:
 * they are refused before anything runs, instead of reaching Entra ID with the wrong authority.
 */
export function unsupportedAzureConnection(
  endpointId: string,
  endpoints: EndpointReader,
): { readonly kind: 'azureStack' | 'adfs' | 'adfsEnabled'; readonly detail: string } | undefined {
  const environment = (endpoints.data(endpointId, 'environment') ?? '').trim();
  if (environment.toLowerCase() === 'azurestack') return { kind: 'azureStack', detail: environment };
  const authorities = ['activeDirectoryAuthority', 'environmentAuthorityUrl'].map((key) =>
    (endpoints.data(endpointId, key) ?? '').trim(),
  );
  for (const authority of authorities)
    if (/\/adfs\/?$/i.test(authority)) return { kind: 'adfs', detail: authority };
  const flag = (endpoints.data(endpointId, 'EnableAdfsAuthentication') ?? '').trim();
  if (flag.toLowerCase() !== 'true') return undefined;
  const authority = authorities.find((a) => a !== '');
  return authority === undefined
    ? { kind: 'adfsEnabled', detail: flag }
    : { kind: 'adfs', detail: authority };
}
