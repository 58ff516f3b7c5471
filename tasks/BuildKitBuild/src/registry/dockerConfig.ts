import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { agentTempDirectory } from '../core/agentTemp';
import type { RunContext } from '../core/context';
import { normalizedRegistryHost } from './dockerRegistry';
import type { RegistryCredential } from './registryCredential';

/** A docker config directory private to this run, given to buildctl through DOCKER_CONFIG. */
export interface PrivateDockerConfig {
  /** The directory holding config.json; undefined when the run needs none. */
  readonly dir: string | undefined;
  /** Removes it; synchronous so that signal handlers can call it. Safe to call twice. */
  dispose(): void;
}

/** A docker config.json: `auths`, `credHelpers`, `credsStore`, and whatever else the user keeps there. */
export type DockerConfigFile = Record<string, unknown>;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The user's config with our credentials on top. Entries of `auths` and `credHelpers` for our registries
 * (however their keys are spelt) are replaced, so ours win. A global `credsStore` would shadow every
 * `auths` entry: it is kept, as per-registry `credHelpers`, for the other registries the user logged in
 * to, and removed. Pure: the user's object is not modified.
 */
export function mergeDockerConfig(
  user: DockerConfigFile,
  credentials: readonly RegistryCredential[],
): DockerConfigFile {
  const ours = new Set(credentials.map((c) => c.host));
  const isOurs = (key: string): boolean => ours.has(normalizedRegistryHost(key));
  const merged: DockerConfigFile = { ...user };

  const auths: Record<string, unknown> = {};
  const userAuths = isRecord(user.auths) ? user.auths : {};
  for (const [key, value] of Object.entries(userAuths)) if (!isOurs(key)) auths[key] = value;

  const helpers: Record<string, unknown> = {};
  const userHelpers = isRecord(user.credHelpers) ? user.credHelpers : {};
  for (const [key, value] of Object.entries(userHelpers)) if (!isOurs(key)) helpers[key] = value;

  const store = typeof user.credsStore === 'string' ? user.credsStore.trim() : '';
  if (store !== '') {
    for (const [key, value] of Object.entries(auths)) {
      const inline =
        isRecord(value) && (typeof value.auth === 'string' || typeof value.identitytoken === 'string');
      if (!inline && !(key in helpers)) helpers[key] = store;
    }
  }
  delete merged.credsStore;

  for (const credential of credentials) auths[credential.configKey] = credential.entry;
  merged.auths = auths;
  if (Object.keys(helpers).length > 0) merged.credHelpers = helpers;
  else delete merged.credHelpers;
  return merged;
}

/** Where the user's own docker config lives: $DOCKER_CONFIG/config.json, else ~/.docker/config.json. */
export function userConfigPath(env: Readonly<Record<string, string | undefined>>): string {
  const dir = env.DOCKER_CONFIG?.trim();
  if (dir !== undefined && dir !== '') return path.join(dir, 'config.json');
  const home = env.HOME?.trim() || env.USERPROFILE?.trim() || os.homedir();
  return path.join(home, '.docker', 'config.json');
}

function readUserConfig(file: string, ctx: RunContext): DockerConfigFile {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error: unknown) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      ctx.log.warning(ctx.loc('CredUserConfigUnreadable', file, (error as Error).message));
    }
    return {};
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (isRecord(parsed)) return parsed;
  } catch {
    // reported below
  }
  ctx.log.warning(ctx.loc('CredUserConfigUnreadable', file, ctx.loc('CredUserConfigNotObject')));
  return {};
}

/**
 * Writes the credentials, merged over the user's own config (never modified), into a fresh directory
 * under Agent.TempDirectory: directory 0700, config.json 0600. No credentials: no directory, and buildctl
 * keeps the user's config.
 */
export function writeDockerConfig(
  credentials: readonly RegistryCredential[],
  ctx: RunContext,
): PrivateDockerConfig {
  if (credentials.length === 0) return { dir: undefined, dispose: () => undefined };
  const source = userConfigPath(ctx.env);
  const merged = mergeDockerConfig(readUserConfig(source, ctx), credentials);

  const root = agentTempDirectory(ctx);
  const dir = fs.mkdtempSync(path.join(root, 'bkb-docker-'));
  let disposed = false;
  const dispose = (): void => {
    if (disposed) return;
    disposed = true;
    try {
      fs.rmSync(dir, { recursive: true, force: true });
    } catch (error: unknown) {
      ctx.log.warning(ctx.loc('CredConfigNotRemoved', dir, (error as Error).message));
    }
  };
  try {
    fs.chmodSync(dir, 0o700);
    fs.writeFileSync(path.join(dir, 'config.json'), `${JSON.stringify(merged, null, 2)}\n`, {
      mode: 0o600,
      flag: 'wx',
    });
  } catch (error: unknown) {
    dispose();
    throw error;
  }
  ctx.log.info(ctx.loc('CredConfigWritten', credentials.map((c) => c.configKey).join(', ')));
  return { dir, dispose };
}
