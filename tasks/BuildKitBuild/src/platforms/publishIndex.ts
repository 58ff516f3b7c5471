import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RunContext } from '../core/context';
import { normalizedRegistryHost } from '../registry/dockerRegistry';
import { userConfigPath } from '../registry/dockerConfig';
import { isManifestType } from '../oci/mediaTypes';
import {
  configPlatform,
  mergeIndex,
  type MergedIndex,
  type OciPlatform,
  type PushedPlatform,
} from '../oci/merge';
import { authFromEntry } from '../oci/entryAuth';
import { registryLocation } from '../oci/location';
import { RegistryClient, type RegistryAuth, type RegistryClientOptions } from '../oci/registryClient';

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Pure: how to authenticate to a registry from a docker config (the task's private one, which holds the
 * service connection's credentials over the user's own entries): `identitytoken` (ACR's refresh token),
 * else `auth` (base64 `user:password`), else anonymous.
 */
export function authFromDockerConfig(config: unknown, host: string): RegistryAuth {
  const auths = isRecord(config) && isRecord(config.auths) ? config.auths : {};
  const wanted = normalizedRegistryHost(host);
  const key = Object.keys(auths).find((k) => normalizedRegistryHost(k) === wanted);
  return authFromEntry(key === undefined ? undefined : auths[key]);
}

/** Pure: the values of a registry credential that must never be shown: password, `user:password` in base64, token. */
export function authSecrets(auth: RegistryAuth): string[] {
  if (auth.kind === 'refreshToken') return [auth.refreshToken];
  if (auth.kind === 'basic') {
    return [auth.password, Buffer.from(`${auth.username}:${auth.password}`).toString('base64')].filter(
      (s) => s !== '',
    );
  }
  return [];
}

/** The docker config the run uses: the private one when the task wrote it, else the user's. */
function readDockerConfig(dockerConfigDir: string | undefined, ctx: RunContext): unknown {
  const file =
    dockerConfigDir === undefined ? userConfigPath(ctx.env) : path.join(dockerConfigDir, 'config.json');
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return {};
  }
}

/** One platform's pushed root, by the digest its metadata file reported. */
export interface PushedRoot {
  readonly platform: string;
  readonly digest: string;
}

export interface PublishRequest {
  /** `<registry>/<repository>`, as the image input names it. */
  readonly imageName: string;
  readonly tags: readonly string[];
  readonly roots: readonly PushedRoot[];
  readonly dockerConfigDir: string | undefined;
  /** Tests: the loopback registry's CA. */
  readonly clientOptions?: Partial<RegistryClientOptions>;
  /** Told of each tag as soon as the index is under it (a later tag may still fail). */
  readonly onTagged?: (tag: string, digest: string) => void;
}

/** Reads each platform's root back (and the config blob of a bare image manifest) for the merge. */
async function readPushed(
  client: RegistryClient,
  repository: string,
  root: PushedRoot,
  signal: AbortSignal,
): Promise<PushedPlatform> {
  const manifest = await client.getManifest(repository, root.digest, signal);
  const configPlatforms = new Map<string, OciPlatform>();
  const config =
    isRecord(manifest.json) && isRecord(manifest.json.config) ? manifest.json.config.digest : undefined;
  if (isManifestType(manifest.mediaType) && typeof config === 'string') {
    const platform = configPlatform(JSON.parse(await client.getBlob(repository, config, signal)) as unknown);
    if (platform !== undefined) configPlatforms.set(config, platform);
  }
  return {
    platform: root.platform,
    descriptor: { mediaType: manifest.mediaType, digest: manifest.digest, size: manifest.size },
    manifest: manifest.json,
    configPlatforms,
  };
}

/**
 * Reads every platform's pushed image back, merges them into one OCI index and PUTs it under every tag.
 * Called only when every platform succeeded, so no tag is written or moved otherwise.
 */
export async function publishIndex(
  request: PublishRequest,
  ctx: RunContext,
  signal: AbortSignal,
): Promise<MergedIndex> {
  const location = registryLocation(request.imageName);
  const proxy = ctx.httpProxy(`https://${location.apiHost}/`);
  const auth = authFromDockerConfig(readDockerConfig(request.dockerConfigDir, ctx), location.configHost);
  // The user's own docker config was never read by the credential step: mask what it holds before any
  // of it is sent, so that a registry quoting it back in an error shows ***.
  for (const secret of authSecrets(auth)) ctx.log.setSecret(secret);
  const client = new RegistryClient({
    apiHost: location.apiHost,
    auth,
    ...(proxy === undefined ? {} : { proxy }),
    onSecret: (value) => {
      ctx.log.setSecret(value);
    },
    onRetry: (notice) => {
      ctx.log.info(
        ctx.loc(
          'MultiRegistryRetry',
          location.apiHost,
          notice.reason,
          notice.attempt,
          (notice.delayMs / 1000).toFixed(1),
        ),
      );
    },
    ...request.clientOptions,
  });
  const pushed = await Promise.all(
    request.roots.map((root) => readPushed(client, location.repository, root, signal)),
  );
  const merged = mergeIndex(pushed);
  for (const tag of request.tags) {
    await client.putManifest(
      location.repository,
      tag,
      'application/vnd.oci.image.index.v1+json',
      merged.json,
      signal,
    );
    request.onTagged?.(tag, merged.digest);
  }
  return merged;
}
