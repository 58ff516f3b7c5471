import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { agentTempDirectory } from '../core/agentTemp';
import { cancelledBy } from '../core/cancellation';
import type { RunContext } from '../core/context';
import type { BuildInputs } from '../buildInputs/spec';
import type { DaemonTls } from '../core/daemonTls';
import { defaultBuildDeps, type BuildDeps, type BuildOutcome } from '../buildctl/build';
import { BuildFailedError } from '../buildctl/errors';
import type { PushReport } from '../buildctl/pushes';
import { renderSummary } from '../buildctl/summary';
import { maskSecrets } from '../core/agentText';
import { errorText } from '../core/errorText';
import { MergeError } from '../oci/merge';
import { RegistryError } from '../oci/registryClient';
import type { Buildctl } from '../tool/install';
import { publishIndex, type PublishRequest } from './publishIndex';
import type { PlatformRoute } from './routing';
import { makeWorkDir, runPlatformBuilds, type PlatformResult } from './splitBuild';
import { renderPlatformSummary } from './summary';

export interface SplitEnvironment {
  readonly buildctl: Buildctl;
  readonly routes: readonly PlatformRoute[];
  readonly tls: DaemonTls;
  readonly dockerConfigDir: string | undefined;
  /** buildctl's environment (childEnvironment.ts); undefined: the task's own. */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** Tests: options for the registry client (a loopback CA). */
export type SplitDeps = BuildDeps & { readonly registry?: PublishRequest['clientOptions'] };

function uploadSummary(
  inputs: BuildInputs,
  results: readonly PlatformResult[],
  outcome: BuildOutcome,
  durationMs: number,
  failure: string | undefined,
  ctx: RunContext,
): void {
  // The summary is uploaded as a file, which the agent does not mask: mask it here.
  const secrets = ctx.log.registeredSecrets();
  const overall = renderSummary(
    {
      succeeded: failure === undefined,
      refs: outcome.refs,
      push: outcome.push,
      pinned: outcome.pinned,
      platforms: inputs.platforms,
      daemon: maskSecrets([...new Set(results.map((r) => r.daemon))].join(', '), secrets),
      durationMs,
      steps: results.reduce((sum, r) => sum + r.steps, 0),
      cached: results.reduce((sum, r) => sum + r.cached, 0),
      failure: failure === undefined ? undefined : maskSecrets(failure, secrets),
    },
    ctx.loc,
  );
  const platforms = renderPlatformSummary(
    {
      results,
      indexDigest: outcome.pinned === undefined ? undefined : outcome.push.digest,
      pushed: inputs.image.push,
    },
    ctx.loc,
  );
  const file = path.join(agentTempDirectory(ctx), `buildkit-build-summary-${crypto.randomUUID()}.md`);
  fs.writeFileSync(file, maskSecrets(`${overall}\n${platforms}`, secrets));
  ctx.publish.uploadSummary(file, ctx.loc('RunSummarySection'));
}

/** Before any index is written: nothing of the image is in the registry under its tags. */
function nothingPushed(inputs: BuildInputs): PushReport {
  return {
    requested: inputs.image.push,
    pushed: [],
    failed: undefined,
    notPushed: inputs.image.push ? inputs.image.refs : [],
    digest: undefined,
    local: false,
  };
}

/** Pure: what the index push left in the registry: the tags written so far, the one that failed. */
function indexPushed(
  inputs: BuildInputs,
  tagged: readonly string[],
  failedRef: string | undefined,
  digest: string | undefined,
): PushReport {
  return {
    requested: true,
    pushed: tagged,
    failed: failedRef === undefined ? undefined : { ref: failedRef, reason: '' },
    notPushed: inputs.image.refs.filter((ref) => !tagged.includes(ref)),
    digest,
    local: false,
  };
}

/**
 * The split build: one buildctl per platform on its own daemon, pushed by digest; when every platform
 * succeeded (and push is on), one OCI index under every tag. Outputs name the index.
 */
export async function runSplitBuild(
  inputs: BuildInputs,
  environment: SplitEnvironment,
  ctx: RunContext,
  signal: AbortSignal,
  deps: SplitDeps = defaultBuildDeps,
): Promise<BuildOutcome> {
  const started = deps.now();
  ctx.publish.setOutput(
    'buildkitAddress',
    [...new Set(environment.routes.map((r) => r.daemons[0] ?? ''))].join(','),
  );
  const workDir = makeWorkDir(agentTempDirectory(ctx));
  let results: PlatformResult[];
  try {
    results = await runPlatformBuilds(
      {
        inputs,
        routes: environment.routes,
        tls: environment.tls,
        buildctl: environment.buildctl,
        dockerConfigDir: environment.dockerConfigDir,
        ...(environment.env === undefined ? {} : { env: environment.env }),
        workDir,
      },
      ctx,
      signal,
      deps,
    );
  } finally {
    fs.rmSync(workDir, { recursive: true, force: true });
  }
  const none: BuildOutcome = { refs: inputs.image.refs, push: nothingPushed(inputs), pinned: undefined };
  const failed = results.find((r) => r.state === 'failed');
  if (failed !== undefined) {
    const reason = failed.failure?.message ?? '';
    const message = ctx.loc('MultiPlatformFailed', failed.platform, failed.daemon, reason);
    for (const r of results.filter((x) => x.state === 'stopped')) {
      ctx.log.info(ctx.loc('MultiStopped', r.platform, r.daemon, failed.platform));
    }
    uploadSummary(inputs, results, none, deps.now() - started, message, ctx);
    // One report, by the caller: the failing step at the Dockerfile line where known.
    const location = failed.failure?.location;
    throw new BuildFailedError(
      ctx.loc('RunFailed', message),
      location !== undefined && location.file === path.basename(inputs.dockerfile)
        ? { file: inputs.dockerfile, line: location.line }
        : location,
    );
  }
  for (const r of results) {
    for (const problem of r.cacheExportFailures)
      ctx.log.warning(`[${r.platform}] ${ctx.loc('RunCacheExportFailed', problem)}`);
  }
  if (!inputs.image.push) {
    ctx.log.info(ctx.loc('MultiNotPushed', inputs.platforms.join(', ')));
    ctx.publish.setOutput('imageRefs', inputs.image.refs.join(','));
    uploadSummary(inputs, results, none, deps.now() - started, undefined, ctx);
    return none;
  }

  const roots = results.map((r) => ({ platform: r.platform, digest: r.metadata?.digest }));
  const missing = roots.find((r) => r.digest === undefined);
  if (missing !== undefined) {
    const message = ctx.loc('MultiMetadataMissing', missing.platform);
    uploadSummary(inputs, results, none, deps.now() - started, message, ctx);
    throw new Error(message);
  }
  const endGroup = ctx.log.group(ctx.loc('MultiMergeGroup', results.length));
  let outcome: BuildOutcome;
  const tagged: string[] = [];
  let taggedDigest: string | undefined;
  try {
    const merged = await publishIndex(
      {
        imageName: inputs.image.name,
        tags: inputs.image.tags,
        roots: roots.map((r) => ({ platform: r.platform, digest: r.digest ?? '' })),
        dockerConfigDir: environment.dockerConfigDir,
        onTagged: (tag, digest) => {
          tagged.push(`${inputs.image.name}:${tag}`);
          taggedDigest = digest;
        },
        ...(deps.registry === undefined ? {} : { clientOptions: deps.registry }),
      },
      ctx,
      signal,
    );
    outcome = {
      refs: inputs.image.refs,
      push: indexPushed(inputs, tagged, undefined, merged.digest),
      pinned: `${inputs.image.name}@${merged.digest}`,
    };
    ctx.log.info(
      ctx.loc('MultiTagged', merged.digest, merged.manifests.length, inputs.image.refs.join(', ')),
    );
  } catch (error: unknown) {
    if (signal.aborted) throw cancelledBy(signal);
    const detail =
      error instanceof RegistryError || error instanceof MergeError ? error.message : errorText(error);
    const message = ctx.loc('MultiMergeFailed', inputs.image.name, detail);
    // Tags are written one after another: those before the failing one already name the new index.
    const failedRef = inputs.image.refs.find((ref) => !tagged.includes(ref));
    const push = indexPushed(inputs, tagged, failedRef, taggedDigest);
    const partial: BuildOutcome = { refs: inputs.image.refs, push, pinned: undefined };
    uploadSummary(inputs, results, partial, deps.now() - started, message, ctx);
    const statement =
      tagged.length > 0
        ? ctx.loc('RunPushedPartly', tagged.join(', '), taggedDigest ?? '', push.notPushed.join(', '))
        : '';
    throw new Error(statement === '' ? message : `${message} ${statement}`, { cause: error });
  } finally {
    endGroup();
  }
  ctx.publish.setOutput('imageDigest', outcome.push.digest ?? '');
  ctx.publish.setOutput('imageRefWithDigest', outcome.pinned ?? '');
  ctx.publish.setOutput('imageRefs', outcome.push.pushed.join(','));
  uploadSummary(inputs, results, outcome, deps.now() - started, undefined, ctx);
  return outcome;
}
