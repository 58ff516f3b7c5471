/** The facts of a build run (System.HostType `build`, YAML pipelines included) that become labels. */
export interface BuildRunMetadata {
  readonly kind: 'build';
  /** Build.Repository.Uri without user information. */
  readonly sourceUri: string | undefined;
  /** Build.SourceVersion (the commit). */
  readonly revision: string | undefined;
  /** The build's results page: collection URI + project + `/_build/results?buildId=` + id. */
  readonly buildUrl: string | undefined;
}

/**
 * The facts of a classic release (System.HostType `release`, `deployment` or `gates`). Its Build.*
 * variables describe the primary artifact's build, not this run, so none of them is used: the image is
 * labelled with the release, as Docker@2 does.
 */
export interface ReleaseMetadata {
  readonly kind: 'release';
  /** Release.ReleaseId. */
  readonly releaseId: string | undefined;
  /** Release.DefinitionName. */
  readonly definitionName: string | undefined;
  /** Release.ReleaseWebURL: the release's page. */
  readonly releaseUrl: string | undefined;
}

/** The pipeline facts `addPipelineMetadata` turns into image labels. */
export type PipelineMetadata = BuildRunMetadata | ReleaseMetadata;

export const LABEL_SOURCE = 'org.opencontainers.image.source';
export const LABEL_REVISION = 'org.opencontainers.image.revision';
export const LABEL_CREATED = 'org.opencontainers.image.created';
/** The label Docker@2 uses for the build's address; here it holds the browsable results URL. */
export const LABEL_BUILD_URL = 'com.azure.dev.image.build.builduri';
/** The release labels of Docker@2 (docker-common's pipelineutils), under the same prefix. */
export const LABEL_RELEASE_ID = 'com.azure.dev.image.release.releaseid';
export const LABEL_RELEASE_DEFINITION = 'com.azure.dev.image.release.definitionname';
export const LABEL_RELEASE_URL = 'com.azure.dev.image.release.releaseweburl';

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

/**
 * Reads the variables the labels need (in parseBuildInputs, never later). The host type decides which:
 * only a build run's Build.* variables describe the run itself; a release (any other host type, as
 * Docker@2 decides) is described by its Release.* variables.
 */
export function readPipelineMetadata(variable: VariableReader): PipelineMetadata {
  const hostType = present(variable('System.HostType'))?.toLowerCase();
  if (hostType !== undefined && hostType !== 'build') {
    return {
      kind: 'release',
      releaseId: present(variable('Release.ReleaseId')),
      definitionName: present(variable('Release.DefinitionName')),
      releaseUrl: present(variable('Release.ReleaseWebURL')),
    };
  }
  const repositoryUri = present(variable('Build.Repository.Uri'));
  const collection = present(variable('System.TeamFoundationCollectionUri'));
  const project = present(variable('System.TeamProject'));
  const buildId = present(variable('Build.BuildId'));
  const buildUrl =
    collection !== undefined && project !== undefined && buildId !== undefined
      ? `${collection.replace(/\/+$/, '')}/${encodeURIComponent(project)}/_build/results?buildId=${encodeURIComponent(buildId)}`
      : undefined;
  return {
    kind: 'build',
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
  const facts: [string, string | undefined][] =
    metadata.kind === 'build'
      ? [
          [LABEL_SOURCE, metadata.sourceUri],
          [LABEL_REVISION, metadata.revision],
          [LABEL_CREATED, rfc3339(now)],
          [LABEL_BUILD_URL, metadata.buildUrl],
        ]
      : [
          [LABEL_CREATED, rfc3339(now)],
          [LABEL_RELEASE_ID, metadata.releaseId],
          [LABEL_RELEASE_DEFINITION, metadata.definitionName],
          [LABEL_RELEASE_URL, metadata.releaseUrl],
        ];
  return facts.flatMap(([key, value]) => (value === undefined ? [] : [[key, value] as [string, string]]));
}
