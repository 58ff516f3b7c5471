import type { RunContext } from '../core/context';

/** A registry's entry in a docker config's `auths`: `auth` is base64 of `user:password`. */
export interface AuthEntry {
  auth?: string;
  identitytoken?: string;
  [key: string]: unknown;
}

/** Where a registry's images are named and under which key its credentials go in the docker config. */
export interface RegistryAddress {
  /** Host images are named under: `myacr.azurecr.io`, `docker.io`, `registry.example.com:5000`. */
  readonly host: string;
  /** Key of its entry in the docker config's `auths` (Docker Hub: `https://index.docker.io/v1/`). */
  readonly configKey: string;
}

/** One registry's credentials, as the private docker config will hold them. */
export interface RegistryCredential extends RegistryAddress {
  readonly entry: AuthEntry;
  /** Who the credentials belong to, for messages (`service principal … (secret)`); never a secret. */
  readonly identity?: string;
}

/**
 * The credential for a registry from a user name and a password or an identity token (ACR's refresh
 * token; its password stays empty). The one place that masks what the docker config will hold: the
 * password or token and the base64 form that would print it to anyone who decodes it.
 */
export function registryCredential(
  address: RegistryAddress,
  username: string,
  secret: { readonly password: string } | { readonly identityToken: string },
  ctx: RunContext,
): RegistryCredential {
  const password = 'password' in secret ? secret.password : '';
  const entry: AuthEntry = { auth: Buffer.from(`${username}:${password}`).toString('base64') };
  if ('identityToken' in secret) {
    ctx.log.setSecret(secret.identityToken);
    entry.identitytoken = secret.identityToken;
  } else if (password !== '') {
    ctx.log.setSecret(password);
    ctx.log.setSecret(entry.auth as string);
  }
  return { host: address.host, configKey: address.configKey, entry };
}
