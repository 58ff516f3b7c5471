/** The pipeline facts `addPipelineMetadata` turns into image labels. */
export interface PipelineMetadata {
  /** Build.Repository.Uri without user information. */
  readonly sourceUri: string | undefined;
  /** Build.SourceVersion (the commit). */
  readonly revision: string | undefined;
  /** The build's results page: collection URI + project + `/_build/results?buildId=` + id. */
  readonly buildUrl: string | undefined;
}

export const LABEL_SOURCE = 'org.opencontainers.image.source';
export const LABEL_REVISION = 'org.opencontainers.image.revision';
export const LABEL_CREATED = 'org.opencontainers.image.created';
/** The label Docker@2 uses for the build's address; here it holds the browsable results URL. */
export const LABEL_BUILD_URL = 'com.azure.dev.image.build.builduri';

type VariableReader = (name: string) => string | undefined;

function present(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed === undefined || trimmed === '' ? undefined : trimmed;
}

/** Removes `user@` or `user:password@` from a URL; leaves anything that is not a URL as it is. */
export function withoutUserInfo(uri: string): string {
  try {
    const url = new URL(uri);
    if (url.username === '' && url.password === '') return uri;
    url.username = '';
    url.password = '';
    return url.toString();
  } catch {
    return uri;
  }
}

/** Reads the Build.* and System.* variables the labels need (in parseBuildInputs, never later). */
export function readPipelineMetadata(variable: VariableReader): PipelineMetadata {
  const repositoryUri = present(variable('Build.Repository.Uri'));
  const collection = present(variable('System.TeamFoundationCollectionUri'));
  const project = present(variable('System.TeamProject'));
  const buildId = present(variable('Build.BuildId'));
  const buildUrl =
    collection !== undefined && project !== undefined && buildId !== undefined
      ? `${collection.replace(/\/+$/, '')}/${encodeURIComponent(project)}/_build/results?buildId=${encodeURIComponent(buildId)}`
      : undefined;
  return {
    sourceUri: repositoryUri === undefined ? undefined : withoutUserInfo(repositoryUri),
    revision: present(variable('Build.SourceVersion')),
    buildUrl,
  };
}

/** RFC 3339 in UTC, to the second: `2024-05-01T12:00:00Z`. */
export function rfc3339(time: Date): string {
  return time.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The pipeline labels in a fixed order; facts the pipeline did not provide are left out. */
export function pipelineLabels(metadata: PipelineMetadata, now: Date): [string, string][] {
  const labels: [string, string][] = [];
  if (metadata.sourceUri !== undefined) labels.push([LABEL_SOURCE, metadata.sourceUri]);
  if (metadata.revision !== undefined) labels.push([LABEL_REVISION, metadata.revision]);
  labels.push([LABEL_CREATED, rfc3339(now)]);
  if (metadata.buildUrl !== undefined) labels.push([LABEL_BUILD_URL, metadata.buildUrl]);
  return labels;
}
