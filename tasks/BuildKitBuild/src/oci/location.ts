import { splitName } from '../buildInputs/reference';

/** Where an image name lives for the distribution API. */
export interface RegistryLocation {
  /** The host the API answers on: `myacr.azurecr.io`, `host:port`, `registry-1.docker.io`. */
  readonly apiHost: string;
  /** The repository path on that host: `team/app`, `library/alpine`. */
  readonly repository: string;
  /** The host as docker config keys it: `myacr.azurecr.io`, or `docker.io` for Docker Hub. */
  readonly configHost: string;
}

const DOCKER_HUB_HOSTS = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

/** Pure: `myacr.azurecr.io/team/app` → API host and repository; names without a domain are Docker Hub's. */
export function registryLocation(imageName: string): RegistryLocation {
  const { domain, path } = splitName(imageName);
  if (domain === undefined || DOCKER_HUB_HOSTS.has(domain.toLowerCase())) {
    return {
      apiHost: 'registry-1.docker.io',
      repository: path.includes('/') ? path : `library/${path}`,
      configHost: 'docker.io',
    };
  }
  return { apiHost: domain, repository: path, configHost: domain };
}
