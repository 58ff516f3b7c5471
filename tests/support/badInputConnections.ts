import type { Endpoint } from './agent';
import { dockerRegistryConnection, systemVssConnection } from './connections';

/**
 * The secrets the bad-input runs hold (a service principal's key, a registry password, the system access
 * token, and a mirror password some cases type into an input): none may ever be printed or left on disk.
 */
export const BAD_INPUT_SECRETS = [
  'spn-secret-Vq8x2LmZ',
  'registry-password-Kd93Jf',
  'system-access-token-Rt5Wq1',
  'mirror-password-Zq81',
] as const;

/** The service connections the bad-input cases name: an Azure one, Docker Hub, a non-registry URL. */
export const BAD_INPUT_ENDPOINTS: Record<string, Endpoint> = {
  arm: {
    url: 'https://management.azure.com/',
    scheme: 'ServicePrincipal',
    parameters: {
      authenticationType: 'spnKey',
      serviceprincipalid: '11111111-2222-3333-4444-555555555555',
      serviceprincipalkey: BAD_INPUT_SECRETS[0],
      tenantid: '66666666-7777-8888-9999-000000000000',
    },
    data: { environment: 'AzureCloud', subscriptionId: 'sub' },
  },
  hub: dockerRegistryConnection('https://index.docker.io/v1/', 'someone', BAD_INPUT_SECRETS[1]),
  ftp: dockerRegistryConnection('ftp://registry.example.com', 'someone', BAD_INPUT_SECRETS[1]),
  ...systemVssConnection(BAD_INPUT_SECRETS[2]),
};
