import type { RunContext } from '../core/context';
import type { InputProblem } from '../core/inputErrors';
import type { RawInputs } from '../core/inputs';
import type { DaemonTls } from '../core/daemonTls';
import { readBranchFacts } from './branchCache';
import { parseCacheInputs, type CacheInputs, type CacheSpec } from './cacheInputs';
import { parseDaemonLines, parseTls } from './daemonInputs';
import { splitExtraArgs } from './extraArgs';
import { parseBoolean, parsePick, reporter, workingDirectory, type Report } from './fields';
import {
  cacheToRegistryRefs,
  extraArgsRegistryRefs,
  imageRefsClashingWithCache,
  type CacheRefSource,
} from './refClash';
import { parseImageName, parseTags } from './imageInputs';
import { readPipelineMetadata, type PipelineMetadata } from './pipelineLabels';
import {
  parseBuildArgs,
  parseContext,
  parseDockerfile,
  parseLabels,
  parseNamedContexts,
  parsePlatforms,
  parseSecrets,
  parseTarget,
  type BuildArg,
  type BuildSecret,
  type NamedContext,
} from './sourceInputs';

export type { BuildArg, BuildSecret, NamedContext } from './sourceInputs';
export type { CacheMode, CacheSpec } from './cacheInputs';
export type { PipelineMetadata } from './pipelineLabels';

export interface ImageSpec {
  /**
   * The repository inside its registry, e.g. `team/app`, also when the input named the registry host too
   * (`myacr.azurecr.io/team/app`): the key that keeps a repository on the same daemon.
   */
  readonly repository: string;
  /** Full image name without tag: `<registry>/<repository>` (or the repository when no registry is known). */
  readonly name: string;
  readonly tags: readonly string[];
  /** `<name>:<tag>` for every tag. */
  readonly refs: readonly string[];
  readonly push: boolean;
  /** One platform of a split build: pushed by digest, without tags (src/platforms). */
  readonly pushByDigest?: boolean;
}

export interface DaemonSpec {
  /** buildkitAddress lines as given; empty: BUILDKIT_HOST, default socket, or a job-scoped daemon. */
  readonly addresses: readonly string[];
  readonly tls: DaemonTls;
  /** Address → the platforms its buildkitAddress line names after it (served natively); absent: none. */
  readonly served?: Readonly<Record<string, readonly string[]>>;
}

const PROVENANCE = ['none', 'min', 'max'] as const;
export type Provenance = (typeof PROVENANCE)[number];
const ATTESTATION_MANIFEST = ['image', 'oci-artifact'] as const;
/** How attestations are stored: BuildKit's image exporter attribute `oci-artifact` (false: `image`). */
export type AttestationManifest = (typeof ATTESTATION_MANIFEST)[number];

/** Everything about the build itself, validated and typed. */
export interface BuildInputs {
  readonly image: ImageSpec;
  readonly daemon: DaemonSpec;
  /** extraArgs split into words (never run through a shell). */
  readonly extraArgs: readonly string[];
  /** Absolute, existing build context directory. */
  readonly context: string;
  /** Absolute path of the Dockerfile. */
  readonly dockerfile: string;
  readonly target: string | undefined;
  readonly buildArgs: readonly BuildArg[];
  /** User labels, in input order. */
  readonly labels: ReadonlyMap<string, string>;
  /** The pipeline's facts for the OCI labels; undefined when addPipelineMetadata is false. */
  readonly pipeline: PipelineMetadata | undefined;
  readonly platforms: readonly string[];
  readonly secrets: readonly BuildSecret[];
  readonly namedContexts: readonly NamedContext[];
  readonly noCache: boolean;
  readonly pull: boolean;
  readonly provenance: Provenance;
  readonly sbom: boolean;
  /** The form of the attestation manifests; used only when provenance or sbom is on. */
  readonly attestationManifest?: AttestationManifest;
  readonly cache: CacheSpec;
  readonly cacheFrom: readonly string[];
  readonly cacheTo: readonly string[];
}

/**
 * An image ref that is also a cache export's ref would be overwritten by the cache manifest (the image left
 * untagged while the task reports it): a problem of the cache input, naming tags too.
 */
function reportCacheClashes(
  refs: readonly string[],
  push: boolean,
  raw: RawInputs,
  inputs: CacheInputs,
  extraArgs: readonly string[],
  ctx: RunContext,
  report: Report,
): void {
  const cacheRefs: CacheRefSource[] = [
    ...cacheToRegistryRefs(raw.cacheTo),
    ...extraArgsRegistryRefs(extraArgs),
  ];
  // The registry cache is exported only when pushing (a validation build only reads it).
  if (inputs.cache.kind === 'registry' && push)
    cacheRefs.unshift({ ref: inputs.cache.export, input: 'cacheRef' });
  for (const { imageRef, cache } of imageRefsClashingWithCache(refs, cacheRefs)) {
    const message =
      cache.input === 'cacheTo'
        ? ctx.loc('BuildCacheToIsImage', cache.ref, imageRef)
        : cache.input === 'extraArgs'
          ? ctx.loc('BuildExtraArgsCacheIsImage', cache.ref, imageRef)
          : raw.cacheRef.trim() === ''
            ? ctx.loc('BuildCacheDefaultIsImage', cache.ref, imageRef)
            : ctx.loc('BuildCacheRefIsImage', cache.ref, imageRef);
    report(cache.input, message, cache.line);
  }
}

/** Validates the build, cache, daemon and advanced inputs, pushing every problem found. */
export function parseBuildInputs(
  raw: RawInputs,
  ctx: RunContext,
  registryHost: string | undefined,
  problems: InputProblem[],
): BuildInputs {
  const report = reporter(problems);
  const workDir = workingDirectory(ctx);
  // Parsed in task.json's order, so the problems are listed in the order users see the inputs.
  const imageName = parseImageName(raw.repository, registryHost, ctx, report);
  const tags = parseTags(raw.tags, ctx, report);
  const push = parseBoolean('push', raw.push, true, ctx, report);
  if (push && tags.length === 0 && !problems.some((p) => p.input === 'tags')) {
    report('tags', ctx.loc('BuildTagsRequired'));
  }
  const context = parseContext(raw.context, workDir, ctx, report);
  const dockerfile = parseDockerfile(raw.dockerfile, context, ctx, report);
  const buildArgs = parseBuildArgs(raw.buildArgs, ctx.env, ctx, report);
  const target = parseTarget(raw.target, ctx, report);
  const platforms = parsePlatforms(raw.platforms, ctx, report);
  const labels = parseLabels(raw.labels, ctx, report);
  const addPipelineMetadata = parseBoolean('addPipelineMetadata', raw.addPipelineMetadata, true, ctx, report);
  const secrets = parseSecrets(raw.secrets, workDir, ctx.env, ctx, report);
  const namedContexts = parseNamedContexts(raw.buildContexts, workDir, ctx, report);
  const noCache = parseBoolean('noCache', raw.noCache, false, ctx, report);
  const pull = parseBoolean('pull', raw.pull, false, ctx, report);
  const provenance = parsePick('provenance', raw.provenance, PROVENANCE, 'none', ctx, report);
  const sbom = parseBoolean('sbom', raw.sbom, false, ctx, report);
  const attestationManifest = parsePick(
    'attestationManifest',
    raw.attestationManifest,
    ATTESTATION_MANIFEST,
    'image',
    ctx,
    report,
  );
  const facts = readBranchFacts((v) => ctx.variable(v));
  const cache = parseCacheInputs(raw, imageName?.name, registryHost, platforms, facts, ctx, report);
  const { addresses, served } = parseDaemonLines(raw.buildkitAddress, ctx, report);
  const tls = parseTls(raw, workDir, ctx, report);
  const refs = imageName === undefined ? [] : tags.map((t) => `${imageName.name}:${t}`);
  const extraArgs = splitExtraArgs(raw.extraArgs);
  reportCacheClashes(refs, push, raw, cache, typeof extraArgs === 'string' ? [] : extraArgs, ctx, report);
  if (extraArgs === 'openQuote') report('extraArgs', ctx.loc('BuildExtraArgsQuote'));
  if (extraArgs === 'trailingBackslash') report('extraArgs', ctx.loc('BuildExtraArgsBackslash'));

  const name = imageName?.name ?? raw.repository.trim();
  return {
    image: {
      repository: imageName?.repository ?? raw.repository.trim(),
      name,
      tags,
      refs: tags.map((t) => `${name}:${t}`),
      push,
    },
    daemon: { addresses, tls, ...(Object.keys(served).length > 0 ? { served } : {}) },
    extraArgs: typeof extraArgs === 'string' ? [] : extraArgs,
    context,
    dockerfile,
    target,
    buildArgs,
    labels,
    pipeline: addPipelineMetadata ? readPipelineMetadata((v) => ctx.variable(v)) : undefined,
    platforms,
    secrets,
    namedContexts,
    noCache,
    pull,
    provenance,
    sbom,
    attestationManifest,
    ...cache,
  };
}
