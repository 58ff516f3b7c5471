import { csvField } from '../buildInputs/inputText';
import { pipelineLabels } from '../buildInputs/pipelineLabels';
import { dockerfileParts } from '../buildInputs/sourceInputs';
import { daemonGlobalArgs, type DaemonEndpoint } from '../daemon/flags';
import type { BuildInputs } from '../buildInputs/spec';
import { attestationFields } from './attestations';

/** Pipeline labels first, then the user's (a user label with the same key replaces the pipeline's). */
function labelFlags(inputs: BuildInputs, now: Date): string[] {
  const labels = new Map<string, string>(
    inputs.pipeline === undefined ? [] : pipelineLabels(inputs.pipeline, now),
  );
  for (const [key, value] of inputs.labels) labels.set(key, value);
  return [...labels].flatMap(([key, value]) => ['--opt', `label:${key}=${value}`]);
}

function contextFlags(inputs: BuildInputs): string[] {
  return inputs.namedContexts.flatMap((c) => {
    switch (c.kind) {
      case 'local':
        return ['--local', `${c.localName}=${c.path}`, '--opt', `context:${c.name}=local:${c.localName}`];
      case 'oci-layout':
        return [
          '--oci-layout',
          `${c.storeId}=${c.path}`,
          '--opt',
          `context:${c.name}=oci-layout://${c.storeId}@${c.digest}`,
        ];
      case 'source':
        return ['--opt', `context:${c.name}=${c.source}`];
    }
  });
}

function cacheFlags(inputs: BuildInputs): string[] {
  const flags: string[] = [];
  const { cache } = inputs;
  if (cache.kind === 'registry')
    for (const ref of cache.imports) flags.push('--import-cache', `type=registry,ref=${ref}`);
  for (const line of inputs.cacheFrom) flags.push('--import-cache', line);
  // A validation build (push false) reads the cache but does not write it: it has no push rights.
  if (cache.kind === 'registry' && inputs.image.push) {
    // ignore-error: a failing cache export must not fail a build whose image was produced.
    flags.push('--export-cache', `type=registry,ref=${cache.export},mode=${cache.mode},ignore-error=true`);
  }
  for (const line of inputs.cacheTo) flags.push('--export-cache', line);
  return flags;
}

function outputValue(inputs: BuildInputs): string {
  // One platform of a split build: pushed by digest under the bare name (BuildKit refuses a tag there).
  if (inputs.image.pushByDigest === true && inputs.image.push) {
    return [
      'type=image',
      csvField(`name=${inputs.image.name}`),
      'push-by-digest=true',
      'push=true',
      ...attestationFields(inputs),
    ].join(',');
  }
  const fields = ['type=image'];
  if (inputs.image.refs.length > 0) fields.push(csvField(`name=${inputs.image.refs.join(',')}`));
  fields.push(`push=${inputs.image.push ? 'true' : 'false'}`);
  fields.push(...attestationFields(inputs));
  return fields.join(',');
}

/**
 * Pure: the `buildctl` argument array for one build. Global daemon/TLS flags, then `build` and its flags,
 * then the user's extraArgs last (so they can add to or override what the task sets).
 */
export function buildctlBuildArgs(
  inputs: BuildInputs,
  daemon: DaemonEndpoint,
  metadataFile: string,
  now: Date = new Date(),
): string[] {
  const dockerfile = dockerfileParts(inputs.dockerfile);
  const args = [
    ...daemonGlobalArgs(daemon.address, daemon.tls),
    'build',
    '--progress=plain',
    '--frontend=dockerfile.v0',
    '--local',
    `context=${inputs.context}`,
    '--local',
    `dockerfile=${dockerfile.dir}`,
    '--opt',
    `filename=${dockerfile.filename}`,
  ];
  if (inputs.target !== undefined) args.push('--opt', `target=${inputs.target}`);
  for (const arg of inputs.buildArgs) args.push('--opt', `build-arg:${arg.name}=${arg.value}`);
  args.push(...labelFlags(inputs, now));
  if (inputs.platforms.length > 0) args.push('--opt', `platform=${inputs.platforms.join(',')}`);
  args.push(...contextFlags(inputs));
  for (const secret of inputs.secrets) {
    args.push(
      '--secret',
      secret.kind === 'file'
        ? `id=${secret.id},${csvField(`src=${secret.path}`)}`
        : `id=${secret.id},env=${secret.variable}`,
    );
  }
  if (inputs.provenance !== 'none') args.push('--opt', `attest:provenance=mode=${inputs.provenance}`);
  if (inputs.sbom) args.push('--opt', 'attest:sbom=');
  if (inputs.noCache) args.push('--no-cache');
  if (inputs.pull) args.push('--opt', 'image-resolve-mode=pull');
  args.push(...cacheFlags(inputs));
  args.push('--output', outputValue(inputs));
  args.push('--metadata-file', metadataFile);
  args.push(...inputs.extraArgs);
  return args;
}
