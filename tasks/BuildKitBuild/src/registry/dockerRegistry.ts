import type { EndpointReader } from '../core/context';
import type { RegistryAddress } from './registryCredential';

/** Docker Hub's key in a docker config: BuildKit asks for `registry-1.docker.io` and looks this key up. */
export const DOCKER_HUB_CONFIG_KEY = 'https://index.docker.io/v1/';

const DOCKER_HUB_HOSTS = new Set([
  'docker.io',
  'index.docker.io',
  'registry-1.docker.io',
  'registry.hub.docker.com',
]);

/**
 * The registry a Docker Registry connection points at: `https://index.docker.io/v1/` (Docker Hub),
 * `https://ghcr.io`, `registry.example.com:5000`, ... Undefined when it is no registry address.
 */
export function registryAddress(raw: string): RegistryAddress | undefined {
  const value = raw.trim();
  if (value === '') return undefined;
  let url: URL;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `https://${value}`);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;
  if (url.username !== '' || url.password !== '' || url.hostname === '') return undefined;
  const host = url.host.toLowerCase();
  if (DOCKER_HUB_HOSTS.has(url.hostname.toLowerCase())) {
    return { host: 'docker.io', configKey: DOCKER_HUB_CONFIG_KEY };
  }
  return { host, configKey: host };
}

/** The registry URL of a Docker Registry connection: its `registry` parameter, else its URL. */
export function connectionRegistry(endpointId: string, endpoints: EndpointReader): string {
  const fromParameter = endpoints.authParameter(endpointId, 'registry')?.trim();
  return fromParameter !== undefined && fromParameter !== ''
    ? fromParameter
    : (endpoints.url(endpointId) ?? '');
}

/** The host a docker config key stands for, so entries for the same registry can be found: lowercase host[:port]. */
export function normalizedRegistryHost(key: string): string {
  const address = registryAddress(key);
  return address === undefined ? key.trim().toLowerCase() : address.host;
}
