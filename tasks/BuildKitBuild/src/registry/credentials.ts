import type { RunContext } from '../context';
import type { RegistrySpec } from './spec';

/** One entry of the private docker config, keyed by registry host as BuildKit looks it up. */
export interface RegistryCredential {
  readonly registry: string;
  readonly username?: string;
  readonly password?: string;
  /** An ACR refresh token, written as `identitytoken`. */
  readonly identityToken?: string;
}

/** Fetches registry credentials through the service connection. (Issue 4 owns this module.) */
export function getRegistryCredentials(
  _spec: RegistrySpec,
  _access: { readonly push: boolean },
  _ctx: RunContext,
  _signal: AbortSignal,
): Promise<RegistryCredential[]> {
  return Promise.resolve([]);
}
