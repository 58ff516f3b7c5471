import type { RegistryAuth } from './registryClient';

/**
 * Pure: how to authenticate to a registry with one docker config `auths` entry: `identitytoken` (ACR's
 * refresh token), else `auth` (base64 `user:password`), else anonymous.
 */
export function authFromEntry(entry: unknown): RegistryAuth {
  if (typeof entry !== 'object' || entry === null) return { kind: 'anonymous' };
  const { identitytoken, auth } = entry as { identitytoken?: unknown; auth?: unknown };
  if (typeof identitytoken === 'string' && identitytoken !== '') {
    return { kind: 'refreshToken', refreshToken: identitytoken };
  }
  if (typeof auth === 'string' && auth !== '') {
    const decoded = Buffer.from(auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon > 0)
      return { kind: 'basic', username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  return { kind: 'anonymous' };
}
