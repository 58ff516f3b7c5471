import type { RunContext } from '../context';
import type { RegistryCredential } from './credentials';

/** A docker config directory private to this run, given to buildctl through DOCKER_CONFIG. */
export interface PrivateDockerConfig {
  /** The directory holding config.json; undefined when the run needs none. */
  readonly dir: string | undefined;
  /** Removes it; synchronous so that signal handlers can call it. Safe to call twice. */
  dispose(): void;
}

/** Writes the credentials merged over the user's own config. (Issue 4 owns this module.) */
export function writeDockerConfig(
  _credentials: readonly RegistryCredential[],
  _ctx: RunContext,
): PrivateDockerConfig {
  return { dir: undefined, dispose: () => undefined };
}
