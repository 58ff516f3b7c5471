import * as fs from 'node:fs';
import * as path from 'node:path';
import { cancelledBy, throwIfCancelled } from '../core/cancellation';
import type { RunContext } from '../core/context';
import type { BuildInputs } from '../buildInputs/spec';
import type { DaemonTls } from '../core/daemonTls';
import { buildctlBuildArgs } from '../buildctl/args';
import { daemonEnv } from '../daemon/flags';
import {
  attemptBuild,
  attemptWithRetries,
  displayCommand,
  withAttestationAdvice,
  type BuildDeps,
} from '../buildctl/build';
import { pushRetryDelayMs } from '../buildctl/transientPush';
import type { BuildFailure } from '../buildctl/errors';
import { readBuildMetadata, type BuildMetadata } from '../buildctl/metadata';
import { errorText } from '../core/errorText';
import type { Buildctl } from '../tool/install';
import { platformInputs } from './platformInputs';
import type { PlatformRoute } from './routing';

/** How one platform's build ended. */
export interface PlatformResult {
  readonly platform: string;
  readonly daemon: string;
  readonly native: boolean;
  readonly state: 'succeeded' | 'failed' | 'stopped';
  readonly metadata: BuildMetadata | undefined;
  readonly durationMs: number;
  /** Attempts of the build: more than one when a transient push failure ran it again. */
  readonly attempts: number;
  readonly steps: number;
  readonly cached: number;
  /** Why it failed, when it did (the failing Dockerfile step where known). */
  readonly failure?: BuildFailure;
  /** Errors of cache exports that did not fail the build (ignore-error=true). */
  readonly cacheExportFailures: readonly string[];
}

export interface SplitRequest {
  readonly inputs: BuildInputs;
  readonly routes: readonly PlatformRoute[];
  readonly tls: DaemonTls;
  readonly buildctl: Buildctl;
  readonly dockerConfigDir: string | undefined;
  /** buildctl's environment (childEnvironment.ts); undefined: the task's own. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** A private directory for the metadata files. */
  readonly workDir: string;
}

/** Pure: a line of one platform's log, prefixed with its platform so that interleaved logs stay readable. */
export function prefixed(platform: string, line: string): string {
  return `[${platform}] ${line}`;
}

/**
 * Runs one buildctl per platform, all at once, each on the first daemon of its route. The first failure
 * stops the others (their buildctl gets SIGTERM); cancellation stops all. Resolves with every platform's
 * result once every buildctl has exited; throws only when the run was cancelled.
 */
export async function runPlatformBuilds(
  request: SplitRequest,
  ctx: RunContext,
  signal: AbortSignal,
  deps: BuildDeps,
): Promise<PlatformResult[]> {
  throwIfCancelled(signal);
  const firstFailure = new AbortController();
  const stop = AbortSignal.any([signal, firstFailure.signal]);
  const env = daemonEnv(request.env ?? ctx.env, request.tls);
  const firstRetryDelayMs = pushRetryDelayMs(ctx);
  if (request.dockerConfigDir !== undefined) env.DOCKER_CONFIG = request.dockerConfigDir;

  const buildOne = async (route: PlatformRoute, index: number): Promise<PlatformResult> => {
    const daemon = route.daemons[0] ?? '';
    const metadataFile = path.join(request.workDir, `metadata-${String(index)}.json`);
    const args = buildctlBuildArgs(
      platformInputs(request.inputs, route.platform),
      { address: daemon, tls: request.tls },
      metadataFile,
    );
    ctx.log.info(prefixed(route.platform, `[command]${displayCommand(request.buildctl.path, args)}`));
    const started = deps.now();
    // As for a single build: a transient registry failure of the push runs the same build on the same
    // daemon again (its steps are cached there).
    const { attempt, attempts } = await attemptWithRetries(
      () =>
        attemptBuild(
          {
            file: request.buildctl.path,
            args,
            env,
            refs: [],
            log: (lines) => {
              ctx.log.info(lines.map((line) => prefixed(route.platform, line)).join('\n'));
            },
          },
          ctx,
          stop,
          deps,
        ),
      firstRetryDelayMs,
      stop,
      (message) => {
        ctx.log.info(prefixed(route.platform, message));
      },
      ctx,
    );
    const { result, progress, failures } = attempt;
    const durationMs = deps.now() - started;
    const stats = progress.stats();
    const base = {
      platform: route.platform,
      daemon,
      attempts,
      native: route.native,
      durationMs,
      ...stats,
      cacheExportFailures: progress.cacheExportFailures(),
    };
    if (result.cancelled) return { ...base, state: 'stopped', metadata: undefined };
    if (result.code === 0) {
      let metadata: BuildMetadata | undefined;
      try {
        metadata = readBuildMetadata(metadataFile);
      } catch (error: unknown) {
        ctx.log.warning(ctx.loc('RunMetadataUnreadable', errorText(error)));
      }
      return { ...base, state: 'succeeded', metadata };
    }
    const found: BuildFailure =
      result.signal !== null
        ? { message: ctx.loc('RunKilled', result.signal) }
        : (failures.failure() ?? { message: ctx.loc('RunExitCode', String(result.code)) });
    // A refused attestation manifest names the input that switches its form, as for a single build.
    const failure: BuildFailure = {
      ...found,
      message: withAttestationAdvice(found.message, found.message, request.inputs, ctx),
    };
    firstFailure.abort('SIGTERM');
    return { ...base, state: 'failed', metadata: undefined, failure };
  };

  const results = await Promise.all(request.routes.map(buildOne));
  if (signal.aborted) throw cancelledBy(signal);
  return results;
}

/** Makes the private directory for the platforms' metadata files; the caller removes it. */
export function makeWorkDir(root: string): string {
  return fs.mkdtempSync(path.join(root, 'buildkit-build-platforms-'));
}
