import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { throwIfCancelled } from '../core/cancellation';
import { agentTempDirectory } from '../core/agentTemp';
import type { RunContext } from '../core/context';
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
import { errorText } from '../core/errorText';
import { redactUrl } from './urlText';
import { asWriteError, WriteError, writingInto } from './writeError';

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
  readonly lockTiming: Pick<LockOptions, 'pollMs' | 'refreshMs' | 'maxWaitMs'>;
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
/**
 * Kept next to bin/ in the cached directory: the release archive it was extracted from. A pinned run checks
 * this archive against the pin and runs what it extracts from it, never the cached bin/ (see verifiedCopy).
 */
export const CACHED_ARCHIVE_FILE = 'buildkit-release.tar.gz';

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
  /** The URL for logs and messages: query values (a SAS signature) redacted. */
  readonly shownUrl: string;
  /** Node's arch name: the tool cache's key, as tool-lib uses it. */
  readonly cacheArch: string;
}

/** A fresh private directory under the agent's temporary directory (emptied by the agent after the job). */
async function privateTempDir(prefix: string, ctx: RunContext): Promise<string> {
  const tempRoot = agentTempDirectory(ctx);
  return writingInto(tempRoot, () => {
    fs.mkdirSync(tempRoot, { recursive: true });
    return fs.mkdtempSync(path.join(tempRoot, prefix));
  });
}

/** Downloads the release archive into `work` and logs its digest; refuses one that does not match the pin. */
async function downloadVerified(
  release: Release,
  work: string,
  cache: ToolCache,
  ctx: RunContext,
  deps: ResolveDeps,
  signal: AbortSignal,
): Promise<string> {
  ctx.log.info(ctx.loc('InstallDownloading', release.version, release.shownUrl));
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
    throw new Error(ctx.loc('InstallDigestMismatch', release.shownUrl, sha256, release.sha256));
  }
  return archive;
}

/** Extracts `archive` into `destination` and checks that its buildctl is the release's. Returns bin/. */
async function extractRelease(
  archive: string,
  destination: string,
  release: Release,
  cache: ToolCache,
  ctx: RunContext,
  deps: ResolveDeps,
  signal: AbortSignal,
): Promise<string> {
  try {
    await cache.extractTar(archive, destination);
  } catch (error: unknown) {
    throwIfCancelled(signal);
    throw (
      asWriteError(error, destination) ??
      new Error(ctx.loc('InstallArchiveCorrupt', release.shownUrl, errorText(error)), { cause: error })
    );
  }
  const binDir = path.join(destination, 'bin');
  const buildctl = path.join(binDir, release.platform.buildctl);
  if (!fs.existsSync(buildctl)) {
    throw new Error(
      ctx.loc('InstallArchiveIncomplete', release.shownUrl, `bin/${release.platform.buildctl}`),
    );
  }
  const problem = await versionProblem(buildctl, release.version, ctx, deps, signal);
  if (problem !== undefined) throw new Error(ctx.loc('InstallArchiveWrong', release.shownUrl, problem));
  return binDir;
}

/**
 * Downloads, verifies and extracts the release, then copies it, with its archive, into the tool cache.
 * Returns the cached directory.
 */
async function downloadIntoCache(
  release: Release,
  cache: ToolCache,
  toolsDir: string,
  ctx: RunContext,
  deps: ResolveDeps,
  signal: AbortSignal,
): Promise<string> {
  const work = await privateTempDir('buildkit-', ctx);
  try {
    const archive = await downloadVerified(release, work, cache, ctx, deps, signal);
    const extracted = path.join(work, 'release');
    await extractRelease(archive, extracted, release, cache, ctx, deps, signal);
    await writingInto(extracted, () => {
      fs.renameSync(archive, path.join(extracted, CACHED_ARCHIVE_FILE));
    });
    throwIfCancelled(signal);
    const entry = path.join(toolsDir, TOOL_CACHE_NAME, release.version, release.cacheArch);
    return await writingInto(entry, () =>
      cache.cacheDir(extracted, TOOL_CACHE_NAME, release.version, release.cacheArch),
    );
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** Copies `from` to `to` (which must not exist) and returns the SHA-256 of the bytes copied. */
async function copyHashing(from: string, to: string, signal: AbortSignal): Promise<string> {
  const hash = createHash('sha256');
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      done(null, chunk);
    },
  });
  await pipeline(fs.createReadStream(from), tap, fs.createWriteStream(to, { flags: 'wx' }), { signal });
  return hash.digest('hex');
}

/**
 * What a pinned run executes: the cached archive, copied into a directory private to this job, checked
 * against the pin there, and extracted there. Nothing in the cached directory is trusted: it is as writable
 * as anything else on the agent, by any earlier job, so only the pin in the pipeline is out of reach. The
 * copy is hashed while it is made and the same bytes are extracted, so a change to the cache during the run
 * cannot slip in. A cache entry without its archive (cached by an earlier version of the task) gets the
 * archive downloaded and checked against the pin instead. Returns the private bin/ directory.
 */
async function verifiedCopy(
  entry: string,
  pin: string,
  release: Release,
  cache: ToolCache,
  ctx: RunContext,
  deps: ResolveDeps,
  signal: AbortSignal,
): Promise<string> {
  const work = await privateTempDir('buildkit-pinned-', ctx);
  try {
    const cachedArchive = path.join(entry, CACHED_ARCHIVE_FILE);
    let archive: string;
    if (fs.existsSync(cachedArchive)) {
      archive = path.join(work, 'archive.tar.gz');
      const sha256 = await writingInto(work, () => copyHashing(cachedArchive, archive, signal));
      if (sha256 !== pin) {
        throw new Error(ctx.loc('InstallCachedDigestMismatch', release.version, sha256, pin, entry));
      }
    } else {
      ctx.log.info(ctx.loc('InstallCachedArchiveMissing', entry));
      archive = await downloadVerified(release, work, cache, ctx, deps, signal);
    }
    const binDir = await extractRelease(
      archive,
      path.join(work, 'release'),
      release,
      cache,
      ctx,
      deps,
      signal,
    );
    fs.rmSync(archive, { force: true });
    return binDir;
  } catch (error: unknown) {
    // Kept only when it is what runs: the job's later steps find it on PATH.
    fs.rmSync(work, { recursive: true, force: true });
    throw error;
  }
}

/** A failure to write names the directory, whether it is the tool cache or the temporary one, and the fix. */
function explainWriteError(error: WriteError, toolsDir: string, ctx: RunContext): Error {
  const relative = path.relative(toolsDir, error.dir);
  const inToolCache = relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
  const why = errorText(error.cause);
  const text =
    error.problem === 'full'
      ? inToolCache
        ? ctx.loc('InstallToolCacheFull', error.dir, why)
        : ctx.loc('InstallTempFull', error.dir, why)
      : inToolCache
        ? ctx.loc('InstallToolCacheNotWritable', error.dir, why)
        : ctx.loc('InstallTempNotWritable', error.dir, why);
  return new Error(text, { cause: error });
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
  return { version, sha256: spec.sha256, platform, url, shownUrl: redactUrl(url), cacheArch: ctx.arch };
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
  try {
    return await fromToolCacheIn(toolsDir, release, ctx, deps, signal);
  } catch (error: unknown) {
    throw error instanceof WriteError ? explainWriteError(error, toolsDir, ctx) : error;
  }
}

async function fromToolCacheIn(
  toolsDir: string,
  release: Release,
  ctx: RunContext,
  deps: ResolveDeps,
  signal: AbortSignal,
): Promise<Buildctl> {
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
        return [await downloadIntoCache(release, cache, toolsDir, ctx, deps, signal), true];
      },
      lockOptions,
      signal,
    );
  }
  if (release.sha256 !== undefined) {
    if (downloaded) {
      ctx.log.info(ctx.loc('InstallDone', release.version, path.join(dir, 'bin', release.platform.buildctl)));
    }
    const binDir = await verifiedCopy(dir, release.sha256, release, cache, ctx, deps, signal);
    const file = path.join(binDir, release.platform.buildctl);
    cache.prependPath(binDir);
    ctx.log.info(ctx.loc('InstallVerifiedCopy', release.version, release.sha256, file));
    return { path: file, version: release.version, binDir };
  }
  const binDir = path.join(dir, 'bin');
  const file = path.join(binDir, release.platform.buildctl);
  if (!downloaded) {
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
