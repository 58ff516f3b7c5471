import * as fs from 'node:fs';
import * as path from 'node:path';
import { throwIfCancelled } from '../cancellation';
import { agentTempDirectory } from '../agentTemp';
import type { RunContext } from '../context';
import { sha256OfFile } from './digest';
import { abortableSleep, DEFAULT_RETRY_POLICY, downloadWithRetries, type RetryPolicy } from './download';
import { findOnPath } from './locate';
import { DEFAULT_LOCK_TIMING, withDirectoryLock, type LockOptions } from './lock';
import {
  releaseArchiveUrl,
  releasePlatform,
  supportedReleasePlatforms,
  type ReleasePlatform,
} from './platform';
import { probeBuildctlVersion, type VersionProbe } from './probe';
import type { ToolSpec } from './spec';
import { loadToolCache, type ToolCache } from './toolCache';
import { DEFAULT_BUILDKIT_VERSION } from './version';
import { errorText } from '../errorText';

export interface Buildctl {
  /** Absolute path of the buildctl executable. */
  readonly path: string;
  /** Version it reports, e.g. `0.32.2`. */
  readonly version: string;
  /** Directory holding buildctl (and buildkitd, when it came from a release archive). */
  readonly binDir: string;
}

/** The edges resolveBuildctl talks to; tests replace them. */
export interface ResolveDeps {
  findOnPath(tool: string): string | undefined;
  probe(file: string, signal: AbortSignal): Promise<VersionProbe>;
  toolCache(): Promise<ToolCache>;
  sleep(ms: number, signal: AbortSignal): Promise<void>;
  readonly retry: RetryPolicy;
  readonly lockTiming: Pick<LockOptions, 'pollMs' | 'staleMs' | 'maxWaitMs'>;
}

export function defaultResolveDeps(ctx: RunContext): ResolveDeps {
  return {
    findOnPath: (tool) => findOnPath(tool, ctx.env, ctx.platform),
    probe: (file, signal) => probeBuildctlVersion(file, ctx.env, signal),
    toolCache: loadToolCache,
    sleep: abortableSleep,
    retry: DEFAULT_RETRY_POLICY,
    lockTiming: DEFAULT_LOCK_TIMING,
  };
}

/** The tool cache's name for BuildKit releases: the directory holds bin/buildctl and bin/buildkitd. */
export const TOOL_CACHE_NAME = 'buildkit';
/** Written next to bin/ in the cached directory: the sha256 of the archive it came from. */
export const ARCHIVE_DIGEST_FILE = 'buildkit-archive.sha256';

async function fromPath(
  file: string,
  ctx: RunContext,
  deps: ResolveDeps,
  signal: AbortSignal,
): Promise<Buildctl> {
  let probe: VersionProbe;
  try {
    probe = await deps.probe(file, signal);
  } catch (error: unknown) {
    throwIfCancelled(signal);
    throw new Error(ctx.loc('ToolPathBroken', file, errorText(error)), { cause: error });
  }
  if (probe.version === undefined) throw new Error(ctx.loc('ToolPathBroken', file, probe.output));
  ctx.log.info(ctx.loc('ToolFromPath', file, probe.version));
  return { path: file, version: probe.version, binDir: path.dirname(file) };
}

/** Why `file` is not buildctl `version`, or undefined when it is. */
async function versionProblem(
  file: string,
  version: string,
  ctx: RunContext,
  deps: ResolveDeps,
  signal: AbortSignal,
): Promise<string | undefined> {
  let probe: VersionProbe;
  try {
    probe = await deps.probe(file, signal);
  } catch (error: unknown) {
    throwIfCancelled(signal);
    return errorText(error);
  }
  if (probe.version === version) return undefined;
  return ctx.loc('InstallReportsVersion', probe.version ?? probe.output, version);
}

interface Release {
  readonly version: string;
  readonly sha256: string | undefined;
  readonly platform: ReleasePlatform;
  readonly url: string;
  /** Node's arch name: the tool cache's key, as tool-lib uses it. */
  readonly cacheArch: string;
}

/** Downloads, verifies and extracts the release, then copies it into the tool cache. */
async function downloadIntoCache(
  release: Release,
  cache: ToolCache,
  ctx: RunContext,
  deps: ResolveDeps,
  signal: AbortSignal,
): Promise<string> {
  const tempRoot = agentTempDirectory(ctx);
  fs.mkdirSync(tempRoot, { recursive: true });
  const work = fs.mkdtempSync(path.join(tempRoot, 'buildkit-'));
  try {
    ctx.log.info(ctx.loc('InstallDownloading', release.version, release.url));
    const archive = await downloadWithRetries(
      release.url,
      (attempt) => path.join(work, `archive-${attempt}.tar.gz`),
      deps.retry,
      { fetch: (url, file) => cache.download(url, file, signal), sleep: (ms, s) => deps.sleep(ms, s) },
      ctx,
      signal,
    );
    const sha256 = await sha256OfFile(archive, signal);
    ctx.log.info(ctx.loc('InstallArchiveDigest', path.basename(new URL(release.url).pathname), sha256));
    if (release.sha256 !== undefined && sha256 !== release.sha256) {
      throw new Error(ctx.loc('InstallDigestMismatch', release.url, sha256, release.sha256));
    }
    const extracted = path.join(work, 'release');
    try {
      await cache.extractTar(archive, extracted);
    } catch (error: unknown) {
      throwIfCancelled(signal);
      throw new Error(ctx.loc('InstallArchiveCorrupt', release.url, errorText(error)), { cause: error });
    }
    const buildctl = path.join(extracted, 'bin', release.platform.buildctl);
    if (!fs.existsSync(buildctl)) {
      throw new Error(ctx.loc('InstallArchiveIncomplete', release.url, `bin/${release.platform.buildctl}`));
    }
    const problem = await versionProblem(buildctl, release.version, ctx, deps, signal);
    if (problem !== undefined) throw new Error(ctx.loc('InstallArchiveWrong', release.url, problem));
    fs.writeFileSync(path.join(extracted, ARCHIVE_DIGEST_FILE), `${sha256}\n`);
    throwIfCancelled(signal);
    return await cache.cacheDir(extracted, TOOL_CACHE_NAME, release.version, release.cacheArch);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** A pinned digest is checked against the one recorded when the cached copy was downloaded. */
function checkCachedDigest(dir: string, release: Release, ctx: RunContext): void {
  if (release.sha256 === undefined) return;
  let recorded: string;
  try {
    recorded = fs.readFileSync(path.join(dir, ARCHIVE_DIGEST_FILE), 'utf8').trim();
  } catch {
    // A pin is a security control: an entry that cannot be checked is not used.
    throw new Error(ctx.loc('InstallCachedDigestUnknown', dir, release.sha256));
  }
  if (recorded !== release.sha256) {
    throw new Error(ctx.loc('InstallCachedDigestMismatch', release.version, recorded, release.sha256, dir));
  }
}

function releaseFor(spec: ToolSpec, ctx: RunContext): Release {
  const version = spec.version ?? DEFAULT_BUILDKIT_VERSION;
  const platform = releasePlatform(ctx.platform, ctx.arch);
  if (platform === undefined) {
    throw new Error(
      ctx.loc('InstallPlatformUnsupported', ctx.platform, ctx.arch, supportedReleasePlatforms().join(', ')),
    );
  }
  const url = releaseArchiveUrl(spec.downloadUrl, version, platform);
  return { version, sha256: spec.sha256, platform, url, cacheArch: ctx.arch };
}

/** The release from the tool cache, installing it there first when missing. */
async function fromToolCache(
  release: Release,
  ctx: RunContext,
  deps: ResolveDeps,
  signal: AbortSignal,
): Promise<Buildctl> {
  const toolsDir = ctx.variable('Agent.ToolsDirectory');
  if (toolsDir === undefined || toolsDir === '') throw new Error(ctx.loc('InstallNoToolsDirectory'));
  const cache = await deps.toolCache();
  let dir = cache.find(TOOL_CACHE_NAME, release.version, release.cacheArch);
  let downloaded = false;
  if (dir === undefined) {
    // One job per agent installs a given release; the others wait for it and then use its copy.
    const lockDir = path.join(toolsDir, TOOL_CACHE_NAME, release.version, `${release.cacheArch}.lock`);
    const lockOptions: LockOptions = {
      ...deps.lockTiming,
      sleep: (ms, s) => deps.sleep(ms, s),
      onWait: () => {
        ctx.log.info(ctx.loc('InstallWaiting', release.version, lockDir));
      },
      timedOut: () => new Error(ctx.loc('InstallLockTimeout', lockDir)),
    };
    [dir, downloaded] = await withDirectoryLock(
      lockDir,
      async (): Promise<[string, boolean]> => {
        const installed = cache.find(TOOL_CACHE_NAME, release.version, release.cacheArch);
        if (installed !== undefined) return [installed, false];
        return [await downloadIntoCache(release, cache, ctx, deps, signal), true];
      },
      lockOptions,
      signal,
    );
  }
  const binDir = path.join(dir, 'bin');
  const file = path.join(binDir, release.platform.buildctl);
  if (!downloaded) {
    checkCachedDigest(dir, release, ctx);
    const problem = await versionProblem(file, release.version, ctx, deps, signal);
    if (problem !== undefined) throw new Error(ctx.loc('InstallCachedBroken', file, problem, dir));
  }
  cache.prependPath(binDir);
  ctx.log.info(
    downloaded
      ? ctx.loc('InstallDone', release.version, file)
      : ctx.loc('InstallFromCache', release.version, file),
  );
  return { path: file, version: release.version, binDir };
}

/**
 * buildctl for this run: from PATH when no version is asked for and one is there; else the release
 * (asked for, or the default) from the agent's tool cache, downloaded, verified and cached when missing.
 */
export async function resolveBuildctl(
  spec: ToolSpec,
  ctx: RunContext,
  signal: AbortSignal,
  deps: ResolveDeps = defaultResolveDeps(ctx),
): Promise<Buildctl> {
  throwIfCancelled(signal);
  if (spec.version === undefined) {
    const onPath = deps.findOnPath('buildctl');
    if (onPath !== undefined) return fromPath(onPath, ctx, deps, signal);
    ctx.log.info(ctx.loc('InstallDefaultVersion', DEFAULT_BUILDKIT_VERSION));
  }
  return fromToolCache(releaseFor(spec, ctx), ctx, deps, signal);
}
