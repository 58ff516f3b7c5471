import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cancelledBy, throwIfCancelled } from '../cancellation';
import { agentTempDirectory } from '../agentTemp';
import type { RunContext } from '../context';
import type { Buildctl } from '../tool/install';
import { buildctlBuildArgs } from './args';
import type { SelectedDaemon } from '../daemon/select';
import { FailureTracker, type BuildFailure } from './errors';
import { readBuildMetadata, type BuildMetadata } from './metadata';
import { runProcess } from './process';
import { ProgressTracker } from './progress';
import type { BuildInputs } from '../buildInputs/spec';
import { renderSummary } from './summary';
import { errorText } from '../errorText';

export interface BuildEnvironment {
  readonly buildctl: Buildctl;
  readonly daemon: SelectedDaemon;
  /** DOCKER_CONFIG for buildctl; undefined leaves buildctl's default. */
  readonly dockerConfigDir: string | undefined;
  /** buildctl's environment (childEnvironment.ts); undefined: the task's own. */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** The edges runBuild talks to; tests replace them. */
export interface BuildDeps {
  now(): number;
  /** How long buildctl gets to stop after the cancellation signal before SIGKILL. */
  readonly killGraceMs: number;
  /** A promise while the log's destination is full (reading from buildctl pauses meanwhile). */
  outputFull(): Promise<void> | undefined;
}

/** Resolves when process.stdout has drained; undefined when it is not full. */
export function stdoutFull(): Promise<void> | undefined {
  if (!process.stdout.writableNeedDrain) return undefined;
  return new Promise((resolve) => process.stdout.once('drain', resolve));
}

export const defaultBuildDeps: BuildDeps = {
  now: () => Date.now(),
  killGraceMs: 3000,
  outputFull: stdoutFull,
};

/** Pure: a command line for the log, quoted for reading (it is never run through a shell). */
export function displayCommand(file: string, args: readonly string[]): string {
  const quote = (word: string): string =>
    /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
  return [file, ...args].map(quote).join(' ');
}

/** What a build produced, as published in the output variables. */
export interface BuildOutcome {
  readonly refs: readonly string[];
  readonly digest: string | undefined;
  /** `name@digest`, for pinned deployments. */
  readonly pinned: string | undefined;
}

/** Publishes what the metadata says, as soon as it is known; returns what was published. */
function publishOutputs(
  inputs: BuildInputs,
  metadata: BuildMetadata | undefined,
  succeeded: boolean,
  ctx: RunContext,
): BuildOutcome {
  const digest = metadata?.digest;
  const refs =
    metadata !== undefined && metadata.imageNames.length > 0 ? metadata.imageNames : inputs.image.refs;
  const pinned = digest === undefined ? undefined : `${inputs.image.name}@${digest}`;
  if (digest !== undefined && pinned !== undefined) {
    ctx.publish.setOutput('imageDigest', digest);
    ctx.publish.setOutput('imageRefWithDigest', pinned);
  }
  if (digest !== undefined || succeeded) ctx.publish.setOutput('imageRefs', refs.join(','));
  return { refs, digest, pinned };
}

function readMetadata(file: string, ctx: RunContext): BuildMetadata | undefined {
  try {
    return readBuildMetadata(file);
  } catch (error: unknown) {
    ctx.log.warning(ctx.loc('RunMetadataUnreadable', errorText(error)));
    return undefined;
  }
}

/** Builds, streams the log, sets outputs and uploads the summary; returns what was built. */
export async function runBuild(
  inputs: BuildInputs,
  environment: BuildEnvironment,
  ctx: RunContext,
  signal: AbortSignal,
  deps: BuildDeps = defaultBuildDeps,
): Promise<BuildOutcome> {
  throwIfCancelled(signal);
  const address = environment.daemon.address;
  ctx.publish.setOutput('buildkitAddress', address);
  const root = agentTempDirectory(ctx);
  const workDir = fs.mkdtempSync(path.join(root, 'buildkit-build-'));
  try {
    const metadataFile = path.join(workDir, 'metadata.json');
    const args = buildctlBuildArgs(inputs, environment.daemon, metadataFile);
    const env: Record<string, string | undefined> = { ...(environment.env ?? ctx.env) };
    if (environment.dockerConfigDir !== undefined) env.DOCKER_CONFIG = environment.dockerConfigDir;
    const progress = new ProgressTracker();
    const failures = new FailureTracker();
    const vertexName = (vertex: number): string | undefined => progress.vertexName(vertex);

    const endGroup = ctx.log.group(ctx.loc('RunGroupBuild', address));
    const started = deps.now();
    let result;
    try {
      ctx.log.info(`[command]${displayCommand(environment.buildctl.path, args)}`);
      result = await runProcess({
        file: environment.buildctl.path,
        args,
        env,
        signal,
        killGraceMs: deps.killGraceMs,
        flowControl: () => deps.outputFull(),
        onLines: (lines) => {
          for (const line of lines) failures.observe(line, progress.observe(line), vertexName);
          ctx.log.info(lines.join('\n'));
        },
      });
    } finally {
      endGroup();
    }
    const durationMs = deps.now() - started;
    const succeeded = result.code === 0 && !result.cancelled;
    const outcome = publishOutputs(inputs, readMetadata(metadataFile, ctx), succeeded, ctx);
    if (result.cancelled) throw cancelledBy(signal);

    // Killed by a signal we did not send: its last lines are progress, not the reason (e.g. the OOM killer).
    const failure: BuildFailure | undefined = succeeded
      ? undefined
      : result.signal !== null
        ? { message: ctx.loc('RunKilled', result.signal) }
        : (failures.failure() ?? { message: ctx.loc('RunExitCode', String(result.code)) });
    const stats = progress.stats();
    const summaryFile = path.join(root, `buildkit-build-summary-${crypto.randomUUID()}.md`);
    fs.writeFileSync(
      summaryFile,
      renderSummary(
        {
          succeeded,
          refs: outcome.refs,
          pushed: inputs.image.push,
          digest: outcome.digest,
          pinned: outcome.pinned,
          platforms: inputs.platforms,
          daemon: address,
          durationMs,
          steps: stats.steps,
          cached: stats.cached,
          failure: failure?.message,
        },
        ctx.loc,
      ),
    );
    ctx.publish.uploadSummary(summaryFile);

    if (failure !== undefined) {
      // BuildKit names the Dockerfile by its base name: point the issue at the real file.
      const location =
        failure.location !== undefined && failure.location.file === path.basename(inputs.dockerfile)
          ? { file: inputs.dockerfile, line: failure.location.line }
          : failure.location;
      ctx.publish.logIssue(failure.message, location);
      throw new Error(ctx.loc('RunFailed', failure.message));
    }
    for (const problem of progress.cacheExportFailures())
      ctx.log.warning(ctx.loc('RunCacheExportFailed', problem));
    return outcome;
  } finally {
    fs.rmSync(workDir, { recursive: true, force: true });
  }
}
