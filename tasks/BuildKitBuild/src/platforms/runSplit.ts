import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { agentTempDirectory } from '../agentTemp';
import { cancelledBy } from '../cancellation';
import type { RunContext } from '../context';
import type { BuildInputs, DaemonTls } from '../buildInputs/spec';
import { defaultBuildDeps, type BuildDeps, type BuildOutcome } from '../build/build';
import { renderSummary } from '../build/summary';
import { errorText } from '../errorText';
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
  const overall = renderSummary(
    {
      succeeded: failure === undefined,
      refs: inputs.image.push ? outcome.refs : [],
      pushed: inputs.image.push,
      digest: outcome.digest,
      pinned: outcome.pinned,
      platforms: inputs.platforms,
      daemon: [...new Set(results.map((r) => r.daemon))].join(', '),
      durationMs,
      steps: results.reduce((sum, r) => sum + r.steps, 0),
      cached: results.reduce((sum, r) => sum + r.cached, 0),
      failure,
    },
    ctx.loc,
  );
  const platforms = renderPlatformSummary(
    { results, indexDigest: outcome.digest, pushed: inputs.image.push },
    ctx.loc,
  );
  const file = path.join(agentTempDirectory(ctx), `buildkit-build-summary-${crypto.randomUUID()}.md`);
  fs.writeFileSync(file, `${overall}\n${platforms}`);
  ctx.publish.uploadSummary(file);
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
        workDir,
      },
      ctx,
      signal,
      deps,
    );
  } finally {
    fs.rmSync(workDir, { recursive: true, force: true });
  }
  const none: BuildOutcome = { refs: inputs.image.refs, digest: undefined, pinned: undefined };
  const failed = results.find((r) => r.state === 'failed');
  if (failed !== undefined) {
    const reason = failed.failure?.message ?? '';
    const message = ctx.loc('MultiPlatformFailed', failed.platform, failed.daemon, reason);
    for (const r of results.filter((x) => x.state === 'stopped')) {
      ctx.log.info(ctx.loc('MultiStopped', r.platform, r.daemon, failed.platform));
    }
    uploadSummary(inputs, results, none, deps.now() - started, message, ctx);
    const location = failed.failure?.location;
    ctx.publish.logIssue(
      message,
      location !== undefined && location.file === path.basename(inputs.dockerfile)
        ? { file: inputs.dockerfile, line: location.line }
        : location,
    );
    throw new Error(ctx.loc('RunFailed', message));
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
  try {
    const merged = await publishIndex(
      {
        imageName: inputs.image.name,
        tags: inputs.image.tags,
        roots: roots.map((r) => ({ platform: r.platform, digest: r.digest ?? '' })),
        dockerConfigDir: environment.dockerConfigDir,
        ...(deps.registry === undefined ? {} : { clientOptions: deps.registry }),
      },
      ctx,
      signal,
    );
    outcome = {
      refs: inputs.image.refs,
      digest: merged.digest,
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
    uploadSummary(inputs, results, none, deps.now() - started, message, ctx);
    throw new Error(message, { cause: error });
  } finally {
    endGroup();
  }
  ctx.publish.setOutput('imageDigest', outcome.digest ?? '');
  ctx.publish.setOutput('imageRefWithDigest', outcome.pinned ?? '');
  ctx.publish.setOutput('imageRefs', outcome.refs.join(','));
  uploadSummary(inputs, results, outcome, deps.now() - started, undefined, ctx);
  return outcome;
}
