/** Every input of task.json, by its primary name. The one place that lists them for the code. */
export const INPUT_NAMES = [
  'azureSubscription',
  'acr',
  'containerRegistry',
  'repository',
  'tags',
  'push',
  'context',
  'dockerfile',
  'buildArgs',
  'target',
  'platforms',
  'labels',
  'addPipelineMetadata',
  'secrets',
  'buildContexts',
  'noCache',
  'pull',
  'provenance',
  'sbom',
  'attestationManifest',
  'cache',
  'cacheRef',
  'cacheMode',
  'cacheFrom',
  'cacheTo',
  'buildkitAddress',
  'tlsCaCert',
  'tlsCert',
  'tlsKey',
  'tlsServerName',
  'buildctlVersion',
  'buildkitDownloadUrl',
  'extraArgs',
] as const;

export type InputName = (typeof INPUT_NAMES)[number];

/** The inputs exactly as the agent handed them over: every value a string, '' when unset. */
export type RawInputs = Readonly<Record<InputName, string>>;

/** Reads one input as the agent provides it (task-lib's getInput), undefined when unset. */
export type InputReader = (name: InputName) => string | undefined;

/** Reads every input exactly once. Nothing else in the task reads inputs. */
export function readInputs(read: InputReader): RawInputs {
  const entries = INPUT_NAMES.map((name) => [name, read(name) ?? ''] as const);
  return Object.fromEntries(entries) as Record<InputName, string>;
}
