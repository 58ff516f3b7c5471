import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cancelledBy, throwIfCancelled } from '../core/cancellation';
import { agentTempDirectory } from '../core/agentTemp';
import type { RunContext } from '../core/context';
import type { Buildctl } from '../tool/install';
import { buildctlBuildArgs } from './args';
import type { SelectedDaemon } from '../daemon/select';
import { daemonEnv } from '../daemon/flags';
import { BuildFailedError, FailureTracker, type BuildFailure } from './errors';
import { PushTracker, type PushReport } from './pushes';
import { maskSecrets } from '../core/agentText';
import { readBuildMetadata, type BuildMetadata } from './metadata';
import { runProcess, type ProcessResult } from '../process/process';
import { ProgressTracker } from './progress';
import type { BuildInputs } from '../buildInputs/spec';
import { renderSummary } from './summary';
import { CacheImportTracker, exportedCacheRef, logCachePlan, logCacheResults } from './cacheReport';
import { errorText } from '../core/errorText';
import { attestationRefusal } from './attestations';
import { MAX_BUILD_ATTEMPTS, pushRetryDelayMs, retryDelayMs, TransientPushTracker } from './transientPush';

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
  /** The requested refs (named locally for a validation build). */
  readonly refs: readonly string[];
  /** What reached the registry. */
  readonly push: PushReport;
  /** `name@digest`, for pinned deployments: only when something was pushed. */
  readonly pinned: string | undefined;
}

/**
 * Publishes what is known to be true, as soon as it is known: imageDigest, imageRefWithDigest and imageRefs
 * for the refs that reached the registry (also when a later one failed), imageRefs alone for a successful
 * validation build. Every value has the form its name promises (the digest was validated, refs are the
 * validated inputs): nothing of the log is published as it is.
 */
function publishOutputs(
  inputs: BuildInputs,
  push: PushReport,
  succeeded: boolean,
  ctx: RunContext,
): BuildOutcome {
  const pinned =
    push.pushed.length > 0 && push.digest !== undefined && !push.local
      ? `${inputs.image.name}@${push.digest}`
      : undefined;
  if (pinned !== undefined && push.digest !== undefined) {
    ctx.publish.setOutput('imageDigest', push.digest);
    ctx.publish.setOutput('imageRefWithDigest', pinned);
    ctx.publish.setOutput('imageRefs', push.pushed.join(','));
  } else if (succeeded && !push.requested && inputs.image.refs.length > 0) {
    ctx.publish.setOutput('imageRefs', inputs.image.refs.join(','));
  }
  return { refs: inputs.image.refs, push, pinned };
}

/** What the result says about the registry when a build failed after pushing, or pushed nothing. */
function pushStatement(push: PushReport, ctx: RunContext): string | undefined {
  if (!push.requested || push.notPushed.length === 0) return undefined;
  if (push.pushed.length === 0) return ctx.loc('RunNothingPushed', push.notPushed.join(', '));
  return ctx.loc('RunPushedPartly', push.pushed.join(', '), push.digest ?? '', push.notPushed.join(', '));
}

/** A refused attestation manifest names the input that switches its form (build/attestations.ts). */
export function withAttestationAdvice(
  message: string,
  failure: string,
  inputs: BuildInputs,
  ctx: RunContext,
): string {
  const refusal = attestationRefusal(failure, inputs);
  if (refusal === undefined) return message;
  const advice =
    refusal === 'artifact' ? ctx.loc('RunAttestationRefusedArtifact') : ctx.loc('RunAttestationRefusedImage');
  return `${message} ${advice}`;
}

function readMetadata(file: string, ctx: RunContext): BuildMetadata | undefined {
  try {
    return readBuildMetadata(file);
  } catch (error: unknown) {
    ctx.log.warning(ctx.loc('RunMetadataUnreadable', errorText(error)));
    return undefined;
  }
}

/** One run of buildctl build, with what its log showed. */
export interface Attempt {
  readonly result: ProcessResult;
  readonly progress: ProgressTracker;
  readonly failures: FailureTracker;
  readonly pushes: PushTracker;
  readonly cacheImports: CacheImportTracker;
  readonly transient: TransientPushTracker;
}

/** What one buildctl run is: its command line, environment, the refs it pushes, where its lines go. */
export interface AttemptRequest {
  readonly file: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly refs: readonly string[];
  /** Writes a batch of buildctl's lines to the log (a split build prefixes them with the platform). */
  readonly log: (lines: readonly string[]) => void;
}

/** Runs buildctl build once, following its log for progress, failures, pushes, cache imports and retries. */
export async function attemptBuild(
  request: AttemptRequest,
  ctx: RunContext,
  signal: AbortSignal,
  deps: BuildDeps,
): Promise<Attempt> {
  const progress = new ProgressTracker();
  const failures = new FailureTracker();
  const pushes = new PushTracker(request.refs);
  const cacheImports = new CacheImportTracker();
  const transient = new TransientPushTracker();
  const vertexName = (vertex: number): string | undefined => progress.vertexName(vertex);
  const result = await runProcess({
    file: request.file,
    args: request.args,
    env: request.env,
    signal,
    killGraceMs: deps.killGraceMs,
    flowControl: () => deps.outputFull(),
    secrets: () => ctx.log.registeredSecrets(),
    onLines: (lines) => {
      for (const line of lines) {
        const parsed = progress.observe(line);
        failures.observe(line, parsed, vertexName);
        transient.observe(parsed, vertexName);
        pushes.observe(line);
        cacheImports.observe(line);
      }
      request.log(lines);
    },
  });
  return { result, progress, failures, pushes, cacheImports, transient };
}

/**
 * The same build on the same daemon, again after a transient registry failure of its push (its steps are
 * cached there, so only the push repeats): at most MAX_BUILD_ATTEMPTS runs, waiting retryDelayMs between
 * them, each retry announced. `waitCancelled` says the signal ended a wait (the last attempt had failed).
 */
export async function attemptWithRetries(
  attemptOnce: () => Promise<Attempt>,
  firstRetryDelayMs: number,
  signal: AbortSignal,
  announce: (message: string) => void,
  ctx: RunContext,
): Promise<{ attempt: Attempt; attempts: number; waitCancelled: boolean }> {
  let attempt = await attemptOnce();
  let attempts = 1;
  for (;;) {
    const reason = retryReason(attempt, signal);
    if (reason === undefined || attempts >= MAX_BUILD_ATTEMPTS)
      return { attempt, attempts, waitCancelled: false };
    const delayMs = retryDelayMs(attempts + 1, firstRetryDelayMs);
    announce(ctx.loc('RunPushRetry', reason, attempts + 1, MAX_BUILD_ATTEMPTS, delayMs / 1000));
    await cancellableDelay(delayMs, signal);
    if (signal.aborted) return { attempt, attempts, waitCancelled: true };
    attempts++;
    attempt = await attemptOnce();
  }
}

/** Why a failed attempt may run again (build/transientPush.ts); never after a cancellation or a kill. */
function retryReason(
  attempt: { readonly result: ProcessResult; readonly transient: TransientPushTracker },
  signal: AbortSignal,
): string | undefined {
  const { result } = attempt;
  if (signal.aborted || result.cancelled || result.signal !== null || result.code === 0) return undefined;
  return attempt.transient.retryReason();
}

/** Waits, or stops waiting as soon as the run is cancelled. */
function cancellableDelay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
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
    const env = daemonEnv(environment.env ?? ctx.env, environment.daemon.tls);
    if (environment.dockerConfigDir !== undefined) env.DOCKER_CONFIG = environment.dockerConfigDir;
    logCachePlan(inputs.cache, inputs.image.push, ctx);
    const firstRetryDelayMs = pushRetryDelayMs(ctx);

    const endGroup = ctx.log.group(ctx.loc('RunGroupBuild', address));
    const started = deps.now();
    let retried: Awaited<ReturnType<typeof attemptWithRetries>>;
    try {
      ctx.log.info(`[command]${displayCommand(environment.buildctl.path, args)}`);
      retried = await attemptWithRetries(
        () =>
          attemptBuild(
            {
              file: environment.buildctl.path,
              args,
              env,
              refs: inputs.image.refs,
              log: (lines) => {
                ctx.log.info(lines.join('\n'));
              },
            },
            ctx,
            signal,
            deps,
          ),
        firstRetryDelayMs,
        signal,
        (message) => {
          ctx.log.info(message);
        },
        ctx,
      );
      if (retried.waitCancelled) throw cancelledBy(signal);
    } finally {
      endGroup();
    }
    const { attempt, attempts } = retried;
    const { result, progress, failures, pushes, cacheImports } = attempt;
    const durationMs = deps.now() - started;
    const succeeded = result.code === 0 && !result.cancelled;
    const metadata = readMetadata(metadataFile, ctx);
    const push = pushes.report(inputs.image.push, succeeded, metadata?.digest);
    const outcome = publishOutputs(inputs, push, succeeded, ctx);
    if (result.cancelled) throw cancelledBy(signal);

    // Killed by a signal we did not send: its last lines are progress, not the reason (e.g. the OOM killer).
    const failure: BuildFailure | undefined = succeeded
      ? undefined
      : result.signal !== null
        ? { message: ctx.loc('RunKilled', result.signal) }
        : (failures.failure() ?? { message: ctx.loc('RunExitCode', String(result.code)) });
    const stats = progress.stats();
    const importResults = cacheImports.results(inputs.cache.kind === 'registry' ? inputs.cache.imports : []);
    logCacheResults(importResults, stats, ctx);
    const summaryFile = path.join(root, `buildkit-build-summary-${crypto.randomUUID()}.md`);
    // The summary is uploaded as a file, which the agent does not mask: mask it here.
    const secrets = ctx.log.registeredSecrets();
    fs.writeFileSync(
      summaryFile,
      renderSummary(
        {
          succeeded,
          refs: outcome.refs,
          push,
          pinned: outcome.pinned,
          platforms: inputs.platforms,
          daemon: maskSecrets(address, secrets),
          durationMs,
          steps: stats.steps,
          cached: stats.cached,
          failure: failure === undefined ? undefined : maskSecrets(failure.message, secrets),
          attempts,
          cache: {
            imports: importResults,
            exportRef: exportedCacheRef(inputs.cache, inputs.image.push),
            exportFailed: progress.cacheExportFailures().length > 0,
          },
        },
        ctx.loc,
      ),
    );
    ctx.publish.uploadSummary(summaryFile, ctx.loc('RunSummarySection'));

    if (failure !== undefined) {
      // BuildKit names the Dockerfile by its base name: point the issue at the real file.
      const location =
        failure.location !== undefined && failure.location.file === path.basename(inputs.dockerfile)
          ? { file: inputs.dockerfile, line: failure.location.line }
          : failure.location;
      const statement = pushStatement(push, ctx);
      const tried = attempts > 1 ? ` ${ctx.loc('RunPushAttemptsExhausted', attempts)}` : '';
      const message =
        withAttestationAdvice(ctx.loc('RunFailed', failure.message), failure.message, inputs, ctx) + tried;
      throw new BuildFailedError(statement === undefined ? message : `${message} ${statement}`, location);
    }
    for (const problem of progress.cacheExportFailures())
      ctx.log.warning(ctx.loc('RunCacheExportFailed', problem));
    return outcome;
  } finally {
    fs.rmSync(workDir, { recursive: true, force: true });
  }
}
