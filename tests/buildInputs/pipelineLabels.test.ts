import * as assert from 'node:assert/strict';
import {
  pipelineLabels,
  readPipelineMetadata,
} from '../../tasks/BuildKitBuild/src/buildInputs/pipelineLabels';

const NOW = new Date('2024-05-01T12:00:00.250Z');

/** What the agent sets in every job: collection and project. */
const SYSTEM = {
  'System.TeamFoundationCollectionUri': 'https://dev.azure.com/org/',
  'System.TeamProject': 'proj',
};
/** Build.* as a build run has them; a classic release has them too, for its primary artifact's build. */
const BUILD = {
  'Build.BuildId': '42',
  'Build.Repository.Uri': 'https://user:secret@dev.azure.com/org/proj/_git/app',
  'Build.SourceVersion': 'abc123',
};
const RELEASE = {
  'Release.ReleaseId': '21',
  'Release.DefinitionName': 'Deploy web',
  'Release.ReleaseWebURL': 'https://dev.azure.com/org/proj/_release?releaseId=21&_a=release-summary',
};

const BUILD_LABELS: [string, string][] = [
  ['org.opencontainers.image.source', 'https://dev.azure.com/org/proj/_git/app'],
  ['org.opencontainers.image.revision', 'abc123'],
  ['org.opencontainers.image.created', '2024-05-01T12:00:00Z'],
  ['com.azure.dev.image.build.builduri', 'https://dev.azure.com/org/proj/_build/results?buildId=42'],
];
const RELEASE_LABELS: [string, string][] = [
  ['org.opencontainers.image.created', '2024-05-01T12:00:00Z'],
  ['com.azure.dev.image.release.releaseid', '21'],
  ['com.azure.dev.image.release.definitionname', 'Deploy web'],
  [
    'com.azure.dev.image.release.releaseweburl',
    'https://dev.azure.com/org/proj/_release?releaseId=21&_a=release-summary',
  ],
];

interface Row {
  name: string;
  variables: Record<string, string>;
  expected: [string, string][];
}

const rows: Row[] = [
  {
    name: 'a build run (YAML or classic build) labels the run: source, revision, results page',
    variables: { ...SYSTEM, ...BUILD, ...RELEASE, 'System.HostType': 'build' },
    expected: BUILD_LABELS,
  },
  {
    name: 'the host type in any case',
    variables: { ...SYSTEM, ...BUILD, 'System.HostType': 'Build' },
    expected: BUILD_LABELS,
  },
  {
    name: 'no host type: the build labels, as before',
    variables: { ...SYSTEM, ...BUILD },
    expected: BUILD_LABELS,
  },
  {
    name: "a classic release labels the release, never its artifact's build",
    variables: { ...SYSTEM, ...BUILD, ...RELEASE, 'System.HostType': 'release' },
    expected: RELEASE_LABELS,
  },
  {
    name: 'a deployment group job of a release',
    variables: { ...SYSTEM, ...BUILD, ...RELEASE, 'System.HostType': 'deployment' },
    expected: RELEASE_LABELS,
  },
  {
    name: 'a release without its facts keeps only the creation time',
    variables: { ...SYSTEM, ...BUILD, 'System.HostType': 'release', 'Release.ReleaseId': ' ' },
    expected: [['org.opencontainers.image.created', '2024-05-01T12:00:00Z']],
  },
];

describe('pipeline labels', () => {
  for (const row of rows) {
    it(row.name, () => {
      const metadata = readPipelineMetadata((name) => row.variables[name]);
      assert.deepEqual(pipelineLabels(metadata, NOW), row.expected);
    });
  }
});
