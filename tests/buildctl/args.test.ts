import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildctlBuildArgs } from '../../tasks/BuildKitBuild/src/buildctl/args';
import { NO_TLS, type DaemonEndpoint } from '../../tasks/BuildKitBuild/src/daemon/flags';
import type { TaskSpec } from '../../tasks/BuildKitBuild/src/spec';
import type { Endpoint } from '../support/agent';
import { dockerRegistryConnection } from '../support/connections';
import { parseStep, type Step } from '../support/stepInputs';

/**
 * One table from the step's inputs, as the agent hands them to the task (`INPUT_*` with task.json's
 * defaults for the rest), through readInputs and parseTaskSpec, to the exact buildctl argv.
 */

const NOW = new Date('2024-05-01T12:00:00.123Z');
const ADDR = 'tcp://buildkitd:1234';
const META = '/tmp/agent/bkb/metadata.json';
const NAME = 'myacr.azurecr.io/team/app';
const CREATED = 'label:org.opencontainers.image.created=2024-05-01T12:00:00Z';

const ENDPOINTS: Record<string, Endpoint> = {
  acr: dockerRegistryConnection('https://myacr.azurecr.io', 'robot', 'registry-password'),
  local: dockerRegistryConnection('http://localhost:5000', 'robot', 'registry-password'),
};

/**
 * What every row starts from, so that a row shows only what it is about: the registry connection, one
 * daemon, and two of task.json's defaults switched off (the registry cache, the pipeline labels), which
 * rows of their own prove.
 */
const BASE: Record<string, string> = {
  containerRegistry: 'acr',
  repository: 'team/app',
  buildkitAddress: ADDR,
  cache: 'none',
  addPipelineMetadata: 'false',
};

/** The pipeline a row runs in; Build.BuildId is what tags defaults to (`$(Build.BuildId)`). */
const VARIABLES = { 'Build.BuildId': '42' };

const PIPELINE_VARIABLES = {
  'Build.Repository.Uri': 'https://org@dev.azure.com/org/proj/_git/app',
  'Build.SourceVersion': 'abc123',
  'System.TeamFoundationCollectionUri': 'https://dev.azure.com/org/',
  'System.TeamProject': 'proj',
};

interface Row {
  name: string;
  /** The step's inputs besides BASE (a value '' is an input set to empty). */
  inputs: Record<string, string>;
  variables?: Record<string, string>;
  env?: Record<string, string>;
  /** The expected argv; `W` is the workspace (System.DefaultWorkingDirectory). */
  expected: (w: string) => string[];
}

const GLOBAL = ['--addr', ADDR];
/** What every build starts with, for the default context (`.`) and Dockerfile. */
const head = (w: string) => [
  'build',
  '--progress=plain',
  '--frontend=dockerfile.v0',
  '--local',
  `context=${w}`,
  '--local',
  `dockerfile=${w}`,
  '--opt',
  'filename=Dockerfile',
];
const TAIL = ['--output', `type=image,name=${NAME}:42,push=true`, '--metadata-file', META];
/** With provenance or sbom, the output says the attestation manifests' form: the image form unless asked. */
const ATTESTED_TAIL = [
  '--output',
  `type=image,name=${NAME}:42,push=true,oci-artifact=false`,
  '--metadata-file',
  META,
];

const rows: Row[] = [
  {
    name: 'minimal: one tag (Build.BuildId), push',
    inputs: {},
    expected: (w) => [...GLOBAL, ...head(w), ...TAIL],
  },
  {
    name: "task.json's defaults: the registry cache at <image>:buildcache, mode max, and the pipeline labels",
    inputs: { cache: 'registry', addPipelineMetadata: 'true' },
    variables: PIPELINE_VARIABLES,
    expected: (w) => [
      ...GLOBAL,
      ...head(w),
      '--opt',
      'label:org.opencontainers.image.source=https://dev.azure.com/org/proj/_git/app',
      '--opt',
      'label:org.opencontainers.image.revision=abc123',
      '--opt',
      CREATED,
      '--opt',
      'label:com.azure.dev.image.build.builduri=https://dev.azure.com/org/proj/_build/results?buildId=42',
      '--import-cache',
      `type=registry,ref=${NAME}:buildcache`,
      '--export-cache',
      `type=registry,ref=${NAME}:buildcache,mode=max,ignore-error=true`,
      ...TAIL,
    ],
  },
  {
    name: 'several tags: the name list is one CSV-quoted field',
    inputs: { tags: '42\nlatest' },
    expected: (w) => [
      ...GLOBAL,
      ...head(w),
      '--output',
      `type=image,"name=${NAME}:42,${NAME}:latest",push=true`,
      '--metadata-file',
      META,
    ],
  },
  {
    name: 'push false',
    inputs: { push: 'false' },
    expected: (w) => [
      ...GLOBAL,
      ...head(w),
      '--output',
      `type=image,name=${NAME}:42,push=false`,
      '--metadata-file',
      META,
    ],
  },
  {
    name: 'push false without tags: an unnamed image',
    inputs: { push: 'false', tags: '' },
    expected: (w) => [...GLOBAL, ...head(w), '--output', 'type=image,push=false', '--metadata-file', META],
  },
  {
    name: 'a unix socket address',
    inputs: { buildkitAddress: 'unix:///run/buildkit/buildkitd.sock' },
    expected: (w) => ['--addr', 'unix:///run/buildkit/buildkitd.sock', ...head(w), ...TAIL],
  },
  {
    name: 'TLS with a CA only: global flags before build, the path resolved in the workspace',
    inputs: { tlsCaCert: 'certs/ca.pem' },
    expected: (w) => [...GLOBAL, '--tlscacert', `${w}/certs/ca.pem`, ...head(w), ...TAIL],
  },
  {
    name: 'mutual TLS with a server name',
    inputs: {
      tlsCaCert: 'certs/ca.pem',
      tlsCert: 'certs/cert.pem',
      tlsKey: 'certs/key.pem',
      tlsServerName: 'buildkitd.buildkit.svc',
    },
    expected: (w) => [
      ...GLOBAL,
      '--tlscacert',
      `${w}/certs/ca.pem`,
      '--tlscert',
      `${w}/certs/cert.pem`,
      '--tlskey',
      `${w}/certs/key.pem`,
      '--tlsservername',
      'buildkitd.buildkit.svc',
      ...head(w),
      ...TAIL,
    ],
  },
  {
    name: 'a Dockerfile in a sub-directory with another name',
    inputs: { dockerfile: 'docker/app.Dockerfile' },
    expected: (w) => [
      ...GLOBAL,
      'build',
      '--progress=plain',
      '--frontend=dockerfile.v0',
      '--local',
      `context=${w}`,
      '--local',
      `dockerfile=${w}/docker`,
      '--opt',
      'filename=app.Dockerfile',
      ...TAIL,
    ],
  },
  {
    name: 'target',
    inputs: { target: 'runtime' },
    expected: (w) => [...GLOBAL, ...head(w), '--opt', 'target=runtime', ...TAIL],
  },
  {
    name: 'build args in order, values kept verbatim (spaces, =, empty)',
    inputs: { buildArgs: 'VERSION=1.2.3\nFLAGS=-a -b=c\nEMPTY=' },
    expected: (w) => [
      ...GLOBAL,
      ...head(w),
      '--opt',
      'build-arg:VERSION=1.2.3',
      '--opt',
      'build-arg:FLAGS=-a -b=c',
      '--opt',
      'build-arg:EMPTY=',
      ...TAIL,
    ],
  },
  {
    name: 'user labels',
    inputs: { labels: 'com.example.team=payments\nmaintainer=a, b' },
    expected: (w) => [
      ...GLOBAL,
      ...head(w),
      '--opt',
      'label:com.example.team=payments',
      '--opt',
      'label:maintainer=a, b',
      ...TAIL,
    ],
  },
  {
    name: 'pipeline labels: source (without user), revision, created (RFC 3339 to the second), build URL',
    inputs: { addPipelineMetadata: 'true' },
    variables: PIPELINE_VARIABLES,
    expected: (w) => [
      ...GLOBAL,
      ...head(w),
      '--opt',
      'label:org.opencontainers.image.source=https://dev.azure.com/org/proj/_git/app',
      '--opt',
      'label:org.opencontainers.image.revision=abc123',
      '--opt',
      CREATED,
      '--opt',
      'label:com.azure.dev.image.build.builduri=https://dev.azure.com/org/proj/_build/results?buildId=42',
      ...TAIL,
    ],
  },
  {
    name: 'pipeline labels without the facts the pipeline lacks',
    inputs: { addPipelineMetadata: 'true' },
    variables: { 'Build.SourceVersion': 'abc123' },
    expected: (w) => [
      ...GLOBAL,
      ...head(w),
      '--opt',
      'label:org.opencontainers.image.revision=abc123',
      '--opt',
      CREATED,
      ...TAIL,
    ],
  },
  {
    name: 'a user label overrides the pipeline label with the same key',
    inputs: {
      addPipelineMetadata: 'true',
      labels: 'org.opencontainers.image.source=https://github.com/org/app\ntier=web',
    },
    variables: { 'Build.Repository.Uri': 'https://x/repo' },
    expected: (w) => [
      ...GLOBAL,
      ...head(w),
      '--opt',
      'label:org.opencontainers.image.source=https://github.com/org/app',
      '--opt',
      CREATED,
      '--opt',
      'label:tier=web',
      ...TAIL,
    ],
  },
  {
    name: 'one platform',
    inputs: { platforms: 'linux/arm64' },
    expected: (w) => [...GLOBAL, ...head(w), '--opt', 'platform=linux/arm64', ...TAIL],
  },
  {
    name: 'several platforms in one option',
    inputs: { platforms: 'linux/amd64,linux/arm64,linux/arm/v7' },
    expected: (w) => [
      ...GLOBAL,
      ...head(w),
      '--opt',
      'platform=linux/amd64,linux/arm64,linux/arm/v7',
      ...TAIL,
    ],
  },
  {
    name: 'a local named context',
    inputs: { buildContexts: 'shared=./shared' },
    expected: (w) => [
      ...GLOBAL,
      ...head(w),
      '--local',
      `shared=${w}/shared`,
      '--opt',
      'context:shared=local:shared',
      ...TAIL,
    ],
  },
  {
    name: 'a local named context whose name is not a plain word',
    inputs: { buildContexts: 'alpine:3.20=./alpine' },
    expected: (w) => [
      ...GLOBAL,
      ...head(w),
      '--local',
      `ctx1=${w}/alpine`,
      '--opt',
      'context:alpine:3.20=local:ctx1',
      ...TAIL,
    ],
  },
  {
    name: 'an image named context',
    inputs: { buildContexts: 'base=docker-image://docker.io/library/alpine:3.20' },
    expected: (w) => [
      ...GLOBAL,
      ...head(w),
      '--opt',
      'context:base=docker-image://docker.io/library/alpine:3.20',
      ...TAIL,
    ],
  },
  {
    name: 'a file secret',
    inputs: { secrets: 'id=npmrc,src=.npmrc' },
    expected: (w) => [...GLOBAL, ...head(w), '--secret', `id=npmrc,src=${w}/.npmrc`, ...TAIL],
  },
  {
    name: 'an environment secret: the value never appears',
    inputs: { secrets: 'id=token,env=NPM_TOKEN' },
    env: { NPM_TOKEN: 'npm-token-value-Qx81' },
    expected: (w) => [...GLOBAL, ...head(w), '--secret', 'id=token,env=NPM_TOKEN', ...TAIL],
  },
  {
    name: 'a secret file whose path holds a comma is CSV-quoted',
    inputs: { secrets: 'id=cfg,"src=a,b/cfg"' },
    expected: (w) => [...GLOBAL, ...head(w), '--secret', `id=cfg,"src=${w}/a,b/cfg"`, ...TAIL],
  },
  {
    name: 'provenance min',
    inputs: { provenance: 'min' },
    expected: (w) => [...GLOBAL, ...head(w), '--opt', 'attest:provenance=mode=min', ...ATTESTED_TAIL],
  },
  {
    name: 'provenance max',
    inputs: { provenance: 'max' },
    expected: (w) => [...GLOBAL, ...head(w), '--opt', 'attest:provenance=mode=max', ...ATTESTED_TAIL],
  },
  {
    name: 'sbom',
    inputs: { sbom: 'true' },
    expected: (w) => [...GLOBAL, ...head(w), '--opt', 'attest:sbom=', ...ATTESTED_TAIL],
  },
  {
    name: 'no-cache',
    inputs: { noCache: 'true' },
    expected: (w) => [...GLOBAL, ...head(w), '--no-cache', ...TAIL],
  },
  {
    name: 'pull',
    inputs: { pull: 'true' },
    expected: (w) => [...GLOBAL, ...head(w), '--opt', 'image-resolve-mode=pull', ...TAIL],
  },
  {
    name: 'an explicit registry cache ref, mode max: one import, the same export, export errors ignored',
    inputs: { cache: 'registry', cacheRef: `${NAME}:cache-main`, cacheMode: 'max' },
    expected: (w) => [
      ...GLOBAL,
      ...head(w),
      '--import-cache',
      `type=registry,ref=${NAME}:cache-main`,
      '--export-cache',
      `type=registry,ref=${NAME}:cache-main,mode=max,ignore-error=true`,
      ...TAIL,
    ],
  },
  {
    name: 'registry cache, mode min, in another repository',
    inputs: { cache: 'registry', cacheRef: 'myacr.azurecr.io/cache/app:main', cacheMode: 'min' },
    expected: (w) => [
      ...GLOBAL,
      ...head(w),
      '--import-cache',
      'type=registry,ref=myacr.azurecr.io/cache/app:main',
      '--export-cache',
      'type=registry,ref=myacr.azurecr.io/cache/app:main,mode=min,ignore-error=true',
      ...TAIL,
    ],
  },
  {
    name: 'registry cache when push is false: imported, not exported',
    inputs: { push: 'false', cache: 'registry', cacheRef: `${NAME}:cache-main` },
    expected: (w) => [
      ...GLOBAL,
      ...head(w),
      '--import-cache',
      `type=registry,ref=${NAME}:cache-main`,
      '--output',
      `type=image,name=${NAME}:42,push=false`,
      '--metadata-file',
      META,
    ],
  },
  {
    name: 'extra cacheFrom and cacheTo lines after the registry cache, as given',
    inputs: {
      cache: 'registry',
      cacheRef: `${NAME}:cache-main`,
      cacheFrom: 'type=azblob,account_url=https://a.blob.core.windows.net,name=app',
      cacheTo: 'type=azblob,account_url=https://a.blob.core.windows.net,name=app,mode=max',
    },
    expected: (w) => [
      ...GLOBAL,
      ...head(w),
      '--import-cache',
      `type=registry,ref=${NAME}:cache-main`,
      '--import-cache',
      'type=azblob,account_url=https://a.blob.core.windows.net,name=app',
      '--export-cache',
      `type=registry,ref=${NAME}:cache-main,mode=max,ignore-error=true`,
      '--export-cache',
      'type=azblob,account_url=https://a.blob.core.windows.net,name=app,mode=max',
      ...TAIL,
    ],
  },
  {
    name: 'cacheFrom alone with cache none',
    inputs: { cacheFrom: 'type=registry,ref=docker.io/org/app:cache' },
    expected: (w) => [
      ...GLOBAL,
      ...head(w),
      '--import-cache',
      'type=registry,ref=docker.io/org/app:cache',
      ...TAIL,
    ],
  },
  {
    name: 'extraArgs come last, split like a shell splits words',
    inputs: { extraArgs: '--allow network.host --opt "build-arg:A=b c"' },
    expected: (w) => [...GLOBAL, ...head(w), ...TAIL, '--allow', 'network.host', '--opt', 'build-arg:A=b c'],
  },
  {
    name: 'a registry with a port',
    inputs: { containerRegistry: 'local' },
    expected: (w) => [
      ...GLOBAL,
      ...head(w),
      '--output',
      'type=image,name=localhost:5000/team/app:42,push=true',
      '--metadata-file',
      META,
    ],
  },
  {
    name: 'everything at once, in the documented order',
    inputs: {
      tags: '1.0\nlatest',
      tlsCaCert: 'certs/ca.pem',
      tlsCert: 'certs/cert.pem',
      tlsKey: 'certs/key.pem',
      tlsServerName: 'bk',
      target: 'final',
      buildArgs: 'A=1',
      labels: 'team=x',
      addPipelineMetadata: 'true',
      platforms: 'linux/amd64,linux/arm64',
      buildContexts: 'shared=./shared\nbase=docker-image://alpine:3.20',
      secrets: 'id=npmrc,src=.npmrc\nid=token,env=TOKEN',
      provenance: 'max',
      sbom: 'true',
      noCache: 'true',
      pull: 'true',
      cache: 'registry',
      cacheRef: `${NAME}:cache-main`,
      cacheFrom: 'type=local,src=/cache',
      cacheTo: 'type=local,dest=/cache',
      extraArgs: '--ssh default',
    },
    variables: PIPELINE_VARIABLES,
    env: { TOKEN: 'token-value-Mv02' },
    expected: (w) => [
      '--addr',
      ADDR,
      '--tlscacert',
      `${w}/certs/ca.pem`,
      '--tlscert',
      `${w}/certs/cert.pem`,
      '--tlskey',
      `${w}/certs/key.pem`,
      '--tlsservername',
      'bk',
      ...head(w),
      '--opt',
      'target=final',
      '--opt',
      'build-arg:A=1',
      '--opt',
      'label:org.opencontainers.image.source=https://dev.azure.com/org/proj/_git/app',
      '--opt',
      'label:org.opencontainers.image.revision=abc123',
      '--opt',
      CREATED,
      '--opt',
      'label:com.azure.dev.image.build.builduri=https://dev.azure.com/org/proj/_build/results?buildId=42',
      '--opt',
      'label:team=x',
      '--opt',
      'platform=linux/amd64,linux/arm64',
      '--local',
      `shared=${w}/shared`,
      '--opt',
      'context:shared=local:shared',
      '--opt',
      'context:base=docker-image://alpine:3.20',
      '--secret',
      `id=npmrc,src=${w}/.npmrc`,
      '--secret',
      'id=token,env=TOKEN',
      '--opt',
      'attest:provenance=mode=max',
      '--opt',
      'attest:sbom=',
      '--no-cache',
      '--opt',
      'image-resolve-mode=pull',
      '--import-cache',
      `type=registry,ref=${NAME}:cache-main`,
      '--import-cache',
      'type=local,src=/cache',
      '--export-cache',
      `type=registry,ref=${NAME}:cache-main,mode=max,ignore-error=true`,
      '--export-cache',
      'type=local,dest=/cache',
      '--output',
      `type=image,"name=${NAME}:1.0,${NAME}:latest",push=true,oci-artifact=false`,
      '--metadata-file',
      META,
      '--ssh',
      'default',
    ],
  },
];

/** The daemon a build goes to when buildkitAddress names one: that address, with the TLS of the inputs. */
function configuredDaemon(spec: TaskSpec): DaemonEndpoint {
  const address = spec.build.daemon.addresses[0];
  if (address === undefined) throw new Error('the row names no buildkitAddress');
  return { address, tls: spec.build.daemon.tls };
}

describe('buildctl argv from the step inputs (INPUT_* → readInputs → parseTaskSpec → buildctlBuildArgs)', () => {
  let workspace: string;

  const step = (row: Pick<Row, 'inputs' | 'variables' | 'env'>): Step => ({
    inputs: { ...BASE, ...row.inputs },
    variables: { ...VARIABLES, ...row.variables },
    env: row.env ?? {},
    endpoints: ENDPOINTS,
    workspace,
  });

  before(() => {
    workspace = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'bkb-args-')));
    fs.writeFileSync(path.join(workspace, 'Dockerfile'), 'FROM scratch\n');
    fs.mkdirSync(path.join(workspace, 'docker'));
    fs.writeFileSync(path.join(workspace, 'docker', 'app.Dockerfile'), 'FROM scratch\n');
    for (const dir of ['shared', 'alpine', 'certs', 'a,b']) fs.mkdirSync(path.join(workspace, dir));
    for (const pem of ['ca.pem', 'cert.pem', 'key.pem']) {
      fs.writeFileSync(path.join(workspace, 'certs', pem), 'PEM\n');
    }
    fs.writeFileSync(path.join(workspace, '.npmrc'), 'registry=https://npm.example\n');
    fs.writeFileSync(path.join(workspace, 'a,b', 'cfg'), 'setting=1\n');
  });

  after(() => {
    fs.rmSync(workspace, { recursive: true, force: true });
  });

  for (const row of rows) {
    it(row.name, () => {
      const spec = parseStep(step(row));
      assert.deepEqual(
        buildctlBuildArgs(spec.build, configuredDaemon(spec), META, NOW),
        row.expected(workspace),
      );
    });
  }

  it('gives a daemon without TLS (one started for the job) no TLS flags, whatever the TLS inputs say', () => {
    const spec = parseStep(
      step({
        inputs: {
          buildkitAddress: '',
          tlsCaCert: 'certs/ca.pem',
          tlsCert: 'certs/cert.pem',
          tlsKey: 'certs/key.pem',
          tlsServerName: 'x',
        },
      }),
    );
    const args = buildctlBuildArgs(spec.build, { address: 'unix:///tmp/job.sock', tls: NO_TLS }, META, NOW);
    assert.deepEqual(args.slice(0, 3), ['--addr', 'unix:///tmp/job.sock', 'build']);
    assert.deepEqual(
      args.filter((a) => a.startsWith('--tls')),
      [],
    );
  });

  it('is pure: the same inputs give the same array, and the inputs are not changed', () => {
    const spec = parseStep(
      step({ inputs: { labels: 'a=b', addPipelineMetadata: 'true' }, variables: PIPELINE_VARIABLES }),
    );
    const copy = structuredClone(spec.build);
    const first = buildctlBuildArgs(spec.build, configuredDaemon(spec), META, NOW);
    assert.deepEqual(buildctlBuildArgs(spec.build, configuredDaemon(spec), META, NOW), first);
    assert.deepEqual(spec.build, copy);
  });

  it('stamps the current time when no time is given', () => {
    const spec = parseStep(step({ inputs: { addPipelineMetadata: 'true' }, variables: PIPELINE_VARIABLES }));
    // The label has whole seconds: the stamp lies between the second before the call and the end of it.
    const before = Math.floor(Date.now() / 1000) * 1000;
    const args = buildctlBuildArgs(spec.build, configuredDaemon(spec), META);
    const after = Date.now();
    const created = args.find((a) => a.startsWith('label:org.opencontainers.image.created='));
    assert.ok(created !== undefined, args.join(' '));
    const stamp = Date.parse(created.slice(created.indexOf('=') + 1));
    assert.ok(stamp >= before && stamp <= after, created);
  });
});
