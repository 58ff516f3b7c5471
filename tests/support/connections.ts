import type { Endpoint } from './agent';

/** A Docker Registry service connection, as the agent hands it over (the registry in url and parameters). */
export function dockerRegistryConnection(registry: string, username: string, password: string): Endpoint {
  return { url: registry, scheme: 'UsernamePassword', parameters: { registry, username, password } };
}

/** The pipeline's own connection, SystemVssConnection, carrying System.AccessToken. */
export function systemVssConnection(accessToken: string): Record<'SYSTEMVSSCONNECTION', Endpoint> {
  return {
    SYSTEMVSSCONNECTION: {
      url: 'https://dev.azure.com/bkb-org/',
      scheme: 'OAuth',
      parameters: { AccessToken: accessToken },
    },
  };
}
