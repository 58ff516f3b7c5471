import * as path from 'node:path';
import * as tl from 'azure-pipelines-task-lib/task';
import { runBuild, type BuildOutcome } from './buildctl/build';
import { childEnvironments } from './process/childEnvironment';
import { defaultDaemonDeps, type SelectedDaemon } from './daemon/select';
import { chooseDaemons } from './platforms/choose';
import { runSplitBuild } from './platforms/runSplit';
import { CancelledError, throwIfCancelled } from './core/cancellation';
import type { RunContext } from './core/context';
import { InputError, formatProblem } from './core/inputErrors';
import { readInputs } from './core/inputs';
import { getRegistryCredentials } from './registry/credentials';
import { checkRegistryPermissions } from './permission/check';
import { writeDockerConfig, type PrivateDockerConfig } from './registry/dockerConfig';
import { parseTaskSpec } from './spec';
import { readInputQuietly, reportResult, taskContext } from './taskContext';
import { BuildFailedError } from './buildctl/errors';
import { resolveBuildctl } from './tool/install';
import { errorText } from './core/errorText';

/** How long the process may linger once the task is done (flushing output) before it exits anyway. */
const LINGER_MS = 2000;

/** What must be undone however the run ends, in reverse order of creation. */
interface Resources {
  dockerConfig?: PrivateDockerConfig;
  daemon?: SelectedDaemon;
}

/** Runs the whole task; returns what was built. */
async function run(ctx: RunContext, signal: AbortSignal, resources: Resources): Promise<BuildOutcome> {
  const spec = parseTaskSpec(readInputs(readInputQuietly), ctx);
  // Independent waits run together: the buildctl lookup and the daemon's pre-flight check (which needs
  // buildctl) on one side, the credential exchange on the other. The buildctl chain starts first so that
  // its child processes run while @azure/identity loads. When one side fails, the other is stopped; both
  // settle before the failure is reported, so a daemon started for this job is known to the clean-up.
  // What buildctl and a job daemon get from the agent (its proxy); the daemons' own hosts stay direct.
  const children = childEnvironments(ctx, [...spec.build.daemon.addresses, ctx.env.BUILDKIT_HOST ?? '']);
  const sideFailed = new AbortController();
  const phase = AbortSignal.any([signal, sideFailed.signal]);
  const stopOtherOnFailure = <T>(work: Promise<T>): Promise<T> =>
    work.catch((error: unknown) => {
      sideFailed.abort('a parallel step failed');
      throw error;
    });
  const [tools, credentials] = await Promise.allSettled([
    stopOtherOnFailure(
      resolveBuildctl(spec.tool, ctx, phase).then(async (buildctl) => {
        // Several platforms on daemons of several platforms: one build per platform (src/platforms).
        const choice = await chooseDaemons(
          spec.build,
          buildctl,
          ctx,
          phase,
          defaultDaemonDeps(buildctl, ctx, children),
        );
        if (choice.kind === 'single') resources.daemon = choice.daemon;
        return { buildctl, choice };
      }),
    ),
    stopOtherOnFailure(
      getRegistryCredentials(spec.registry, { push: spec.build.image.push }, ctx, phase).then(
        async (found) => {
          // Before the build: a missing push right fails now, not after the build (permission/check.ts).
          await checkRegistryPermissions(spec.registry, spec.build, found, ctx, phase);
          return found;
        },
      ),
    ),
  ]);
  throwIfCancelled(signal);
  if (tools.status === 'rejected' || credentials.status === 'rejected') {
    // Report the failure that stopped the other side, not the cancellation it caused there.
    const failures = [credentials, tools].flatMap((r) =>
      r.status === 'rejected' ? [r.reason as unknown] : [],
    );
    throw failures.find((e) => !(e instanceof CancelledError)) ?? failures[0];
  }
  resources.dockerConfig = writeDockerConfig(credentials.value, ctx);
  const { buildctl, choice } = tools.value;
  const dockerConfigDir = resources.dockerConfig.dir;
  if (choice.kind === 'split') {
    return runSplitBuild(
      spec.build,
      { buildctl, routes: choice.routes, tls: choice.tls, dockerConfigDir, env: children.buildctl },
      ctx,
      signal,
    );
  }
  return runBuild(
    spec.build,
    { buildctl, daemon: choice.daemon, dockerConfigDir, env: children.buildctl },
    ctx,
    signal,
  );
}

function describeSuccess(outcome: BuildOutcome, ctx: RunContext): string {
  if (outcome.refs.length === 0) return ctx.loc('RunSucceededUntagged');
  const { digest, local } = outcome.push;
  const refs = outcome.refs.join(', ');
  if (digest === undefined) return ctx.loc('RunSucceededNoDigest', refs);
  return local ? ctx.loc('RunSucceededLocal', refs, digest) : ctx.loc('RunSucceeded', refs, digest);
}

/** Credentials first (immediate), then a daemon started for this job (which may take a few seconds). */
async function release(resources: Resources, ctx: RunContext): Promise<void> {
  resources.dockerConfig?.dispose();
  try {
    await resources.daemon?.dispose();
  } catch (error: unknown) {
    ctx.log.warning(errorText(error));
  }
}

function describeFailure(error: unknown, ctx: RunContext): string {
  if (error instanceof InputError) {
    return ctx.loc('InputProblems', error.problems.length, error.problems.map(formatProblem).join('\n'));
  }
  return errorText(error);
}

/** Where the failure is, when it is at a line of the Dockerfile. */
function failureLocation(error: unknown): { file: string; line: number } | undefined {
  return error instanceof BuildFailedError ? error.location : undefined;
}

async function main(): Promise<void> {
  tl.setResourcePath(path.join(__dirname, 'task.json'));
  const ctx = taskContext();
  const cancellation = new AbortController();
  const resources: Resources = {};
  const onSignal = (signal: NodeJS.Signals): void => {
    ctx.log.info(ctx.loc('CancelRequested', signal));
    // Credentials go first: a second signal or a kill may follow at any moment.
    resources.dockerConfig?.dispose();
    cancellation.abort(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const outcome = await run(ctx, cancellation.signal, resources);
    reportResult('Succeeded', describeSuccess(outcome, ctx));
  } catch (error: unknown) {
    if (error instanceof CancelledError || cancellation.signal.aborted) {
      reportResult('Cancelled', ctx.loc('Cancelled', String(cancellation.signal.reason ?? '')));
    } else {
      reportResult('Failed', describeFailure(error, ctx), failureLocation(error));
    }
  } finally {
    await release(resources, ctx);
    // The result is reported and everything released: a socket or timer some library left behind must
    // not keep the job waiting. Unreferenced, this timer ends the process only if something else would.
    setTimeout(() => process.exit(), LINGER_MS).unref();
  }
}

void main();
