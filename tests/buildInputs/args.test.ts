import * as assert from 'node:assert/strict';
import { buildctlBuildArgs } from '../../tasks/BuildKitBuild/src/buildctl/args';
import { NO_TLS, type DaemonEndpoint } from '../../tasks/BuildKitBuild/src/daemon/flags';
import type { BuildInputs, ImageSpec } from '../../tasks/BuildKitBuild/src/buildInputs/spec';

const NOW = new Date('2024-05-01T12:00:00.123Z');
const ADDR = 'tcp://buildkitd:1234';
const META = '/tmp/agent/bkb/metadata.json';
const NAME = 'myacr.azurecr.io/team/app';

/** An exact registry cache ref (an explicit cacheRef with cache: registry): one import, the same export. */
function exactCache(ref: string, mode: 'min' | 'max'): BuildInputs['cache'] {
  const colon = ref.lastIndexOf(':');
  return {
    kind: 'registry',
    mode,
    imports: [ref],
    export: ref,
    base: { name: ref.slice(0, colon), tag: ref.slice(colon + 1) },
    plan: undefined,
  };
}

type Overrides = Omit<Partial<BuildInputs>, 'image'> & { image?: Partial<ImageSpec> };

function inputs(overrides: Overrides = {}): BuildInputs {
  const { image, ...rest } = overrides;
  const tags = image?.tags ?? ['42'];
  const name = image?.name ?? NAME;
  return {
    image: {
      repository: 'team/app',
      name,
      tags,
      refs: tags.map((t) => `${name}:${t}`),
      push: true,
      ...image,
    },
    daemon: {
      addresses: [ADDR],
      tls: { caCert: undefined, cert: undefined, key: undefined, serverName: undefined },
    },
    extraArgs: [],
    context: '/src',
    dockerfile: '/src/Dockerfile',
    target: undefined,
    buildArgs: [],
    labels: new Map(),
    pipeline: undefined,
    platforms: [],
    secrets: [],
    namedContexts: [],
    noCache: false,
    pull: false,
    provenance: 'none',
    sbom: false,
    cache: { kind: 'none' },
    cacheFrom: [],
    cacheTo: [],
    ...rest,
  };
}

/** What every build starts with, for the default context and Dockerfile. */
const HEAD = [
  'build',
  '--progress=plain',
  '--frontend=dockerfile.v0',
  '--local',
  'context=/src',
  '--local',
  'dockerfile=/src',
  '--opt',
  'filename=Dockerfile',
];
const GLOBAL = ['--addr', ADDR];

/** The daemon a row builds on: the row's address (default ADDR) with the TLS of its inputs. */
const at = (given: BuildInputs, address = ADDR): DaemonEndpoint => ({ address, tls: given.daemon.tls });
const OUTPUT = ['--output', `type=image,name=${NAME}:42,push=true`];
const TAIL = [...OUTPUT, '--metadata-file', META];
/** With provenance or sbom, the output says the attestation manifests' form: the image form unless asked. */
const ATTESTED_TAIL = [
  '--output',
  `type=image,name=${NAME}:42,push=true,oci-artifact=false`,
  '--metadata-file',
  META,
];

interface Row {
  name: string;
  inputs: BuildInputs;
  address?: string;
  expected: string[];
}

const PIPELINE = {
  kind: 'build' as const,
  sourceUri: 'https://dev.azure.com/org/proj/_git/app',
  revision: 'abc123',
  buildUrl: 'https://dev.azure.com/org/proj/_build/results?buildId=42',
};

const rows: Row[] = [
  { name: 'minimal: one tag, push', inputs: inputs(), expected: [...GLOBAL, ...HEAD, ...TAIL] },
  {
    name: 'several tags: the name list is one CSV-quoted field',
    inputs: inputs({ image: { tags: ['42', 'latest'] } }),
    expected: [
      ...GLOBAL,
      ...HEAD,
      '--output',
      `type=image,"name=${NAME}:42,${NAME}:latest",push=true`,
      '--metadata-file',
      META,
    ],
  },
  {
    name: 'push false',
    inputs: inputs({ image: { push: false } }),
    expected: [
      ...GLOBAL,
      ...HEAD,
      '--output',
      `type=image,name=${NAME}:42,push=false`,
      '--metadata-file',
      META,
    ],
  },
  {
    name: 'push false without tags: an unnamed image',
    inputs: inputs({ image: { push: false, tags: [] } }),
    expected: [...GLOBAL, ...HEAD, '--output', 'type=image,push=false', '--metadata-file', META],
  },
  {
    name: 'a unix socket address',
    inputs: inputs(),
    address: 'unix:///run/buildkit/buildkitd.sock',
    expected: ['--addr', 'unix:///run/buildkit/buildkitd.sock', ...HEAD, ...TAIL],
  },
  {
    name: 'TLS with a CA only: global flags before build',
    inputs: inputs({
      daemon: {
        addresses: [ADDR],
        tls: { caCert: '/certs/ca.pem', cert: undefined, key: undefined, serverName: undefined },
      },
    }),
    expected: [...GLOBAL, '--tlscacert', '/certs/ca.pem', ...HEAD, ...TAIL],
  },
  {
    name: 'mutual TLS with a server name',
    inputs: inputs({
      daemon: {
        addresses: [ADDR],
        tls: {
          caCert: '/certs/ca.pem',
          cert: '/certs/cert.pem',
          key: '/certs/key.pem',
          serverName: 'buildkitd.buildkit.svc',
        },
      },
    }),
    expected: [
      ...GLOBAL,
      '--tlscacert',
      '/certs/ca.pem',
      '--tlscert',
      '/certs/cert.pem',
      '--tlskey',
      '/certs/key.pem',
      '--tlsservername',
      'buildkitd.buildkit.svc',
      ...HEAD,
      ...TAIL,
    ],
  },
  {
    name: 'a Dockerfile in a sub-directory with another name',
    inputs: inputs({ dockerfile: '/src/docker/app.Dockerfile' }),
    expected: [
      ...GLOBAL,
      'build',
      '--progress=plain',
      '--frontend=dockerfile.v0',
      '--local',
      'context=/src',
      '--local',
      'dockerfile=/src/docker',
      '--opt',
      'filename=app.Dockerfile',
      ...TAIL,
    ],
  },
  {
    name: 'target',
    inputs: inputs({ target: 'runtime' }),
    expected: [...GLOBAL, ...HEAD, '--opt', 'target=runtime', ...TAIL],
  },
  {
    name: 'build args in order, values kept verbatim (spaces, =, empty)',
    inputs: inputs({
      buildArgs: [
        { name: 'VERSION', value: '1.2.3' },
        { name: 'FLAGS', value: '-a -b=c' },
        { name: 'EMPTY', value: '' },
      ],
    }),
    expected: [
      ...GLOBAL,
      ...HEAD,
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
    inputs: inputs({
      labels: new Map([
        ['com.example.team', 'payments'],
        ['maintainer', 'a, b'],
      ]),
    }),
    expected: [
      ...GLOBAL,
      ...HEAD,
      '--opt',
      'label:com.example.team=payments',
      '--opt',
      'label:maintainer=a, b',
      ...TAIL,
    ],
  },
  {
    name: 'pipeline labels: source, revision, created (RFC 3339 to the second), build URL',
    inputs: inputs({ pipeline: PIPELINE }),
    expected: [
      ...GLOBAL,
      ...HEAD,
      '--opt',
      'label:org.opencontainers.image.source=https://dev.azure.com/org/proj/_git/app',
      '--opt',
      'label:org.opencontainers.image.revision=abc123',
      '--opt',
      'label:org.opencontainers.image.created=2024-05-01T12:00:00Z',
      '--opt',
      'label:com.azure.dev.image.build.builduri=https://dev.azure.com/org/proj/_build/results?buildId=42',
      ...TAIL,
    ],
  },
  {
    name: 'pipeline labels without the facts the pipeline lacks',
    inputs: inputs({
      pipeline: { kind: 'build', sourceUri: undefined, revision: 'abc123', buildUrl: undefined },
    }),
    expected: [
      ...GLOBAL,
      ...HEAD,
      '--opt',
      'label:org.opencontainers.image.revision=abc123',
      '--opt',
      'label:org.opencontainers.image.created=2024-05-01T12:00:00Z',
      ...TAIL,
    ],
  },
  {
    name: 'a user label overrides the pipeline label with the same key',
    inputs: inputs({
      pipeline: { kind: 'build', sourceUri: 'https://x/repo', revision: undefined, buildUrl: undefined },
      labels: new Map([
        ['org.opencontainers.image.source', 'https://github.com/org/app'],
        ['tier', 'web'],
      ]),
    }),
    expected: [
      ...GLOBAL,
      ...HEAD,
      '--opt',
      'label:org.opencontainers.image.source=https://github.com/org/app',
      '--opt',
      'label:org.opencontainers.image.created=2024-05-01T12:00:00Z',
      '--opt',
      'label:tier=web',
      ...TAIL,
    ],
  },
  {
    name: 'one platform',
    inputs: inputs({ platforms: ['linux/arm64'] }),
    expected: [...GLOBAL, ...HEAD, '--opt', 'platform=linux/arm64', ...TAIL],
  },
  {
    name: 'several platforms in one option',
    inputs: inputs({ platforms: ['linux/amd64', 'linux/arm64', 'linux/arm/v7'] }),
    expected: [...GLOBAL, ...HEAD, '--opt', 'platform=linux/amd64,linux/arm64,linux/arm/v7', ...TAIL],
  },
  {
    name: 'a local named context',
    inputs: inputs({
      namedContexts: [{ name: 'shared', kind: 'local', localName: 'shared', path: '/src/shared' }],
    }),
    expected: [
      ...GLOBAL,
      ...HEAD,
      '--local',
      'shared=/src/shared',
      '--opt',
      'context:shared=local:shared',
      ...TAIL,
    ],
  },
  {
    name: 'a local named context whose name is not a plain word',
    inputs: inputs({
      namedContexts: [{ name: 'alpine:3.20', kind: 'local', localName: 'ctx1', path: '/src/alpine' }],
    }),
    expected: [
      ...GLOBAL,
      ...HEAD,
      '--local',
      'ctx1=/src/alpine',
      '--opt',
      'context:alpine:3.20=local:ctx1',
      ...TAIL,
    ],
  },
  {
    name: 'an image named context',
    inputs: inputs({
      namedContexts: [
        { name: 'base', kind: 'source', source: 'docker-image://docker.io/library/alpine:3.20' },
      ],
    }),
    expected: [
      ...GLOBAL,
      ...HEAD,
      '--opt',
      'context:base=docker-image://docker.io/library/alpine:3.20',
      ...TAIL,
    ],
  },
  {
    name: 'a file secret',
    inputs: inputs({ secrets: [{ id: 'npmrc', kind: 'file', path: '/agent/_temp/.npmrc' }] }),
    expected: [...GLOBAL, ...HEAD, '--secret', 'id=npmrc,src=/agent/_temp/.npmrc', ...TAIL],
  },
  {
    name: 'an environment secret: the value never appears',
    inputs: inputs({ secrets: [{ id: 'token', kind: 'env', variable: 'NPM_TOKEN' }] }),
    expected: [...GLOBAL, ...HEAD, '--secret', 'id=token,env=NPM_TOKEN', ...TAIL],
  },
  {
    name: 'a secret file whose path holds a comma is CSV-quoted',
    inputs: inputs({ secrets: [{ id: 'cfg', kind: 'file', path: '/a,b/cfg' }] }),
    expected: [...GLOBAL, ...HEAD, '--secret', 'id=cfg,"src=/a,b/cfg"', ...TAIL],
  },
  {
    name: 'provenance min',
    inputs: inputs({ provenance: 'min' }),
    expected: [...GLOBAL, ...HEAD, '--opt', 'attest:provenance=mode=min', ...ATTESTED_TAIL],
  },
  {
    name: 'provenance max',
    inputs: inputs({ provenance: 'max' }),
    expected: [...GLOBAL, ...HEAD, '--opt', 'attest:provenance=mode=max', ...ATTESTED_TAIL],
  },
  {
    name: 'sbom',
    inputs: inputs({ sbom: true }),
    expected: [...GLOBAL, ...HEAD, '--opt', 'attest:sbom=', ...ATTESTED_TAIL],
  },
  {
    name: 'no-cache',
    inputs: inputs({ noCache: true }),
    expected: [...GLOBAL, ...HEAD, '--no-cache', ...TAIL],
  },
  {
    name: 'pull',
    inputs: inputs({ pull: true }),
    expected: [...GLOBAL, ...HEAD, '--opt', 'image-resolve-mode=pull', ...TAIL],
  },
  {
    name: 'registry cache, mode max, export errors ignored',
    inputs: inputs({ cache: exactCache(`${NAME}:buildcache`, 'max') }),
    expected: [
      ...GLOBAL,
      ...HEAD,
      '--import-cache',
      `type=registry,ref=${NAME}:buildcache`,
      '--export-cache',
      `type=registry,ref=${NAME}:buildcache,mode=max,ignore-error=true`,
      ...TAIL,
    ],
  },
  {
    name: 'registry cache, mode min',
    inputs: inputs({ cache: exactCache('myacr.azurecr.io/cache/app:main', 'min') }),
    expected: [
      ...GLOBAL,
      ...HEAD,
      '--import-cache',
      'type=registry,ref=myacr.azurecr.io/cache/app:main',
      '--export-cache',
      'type=registry,ref=myacr.azurecr.io/cache/app:main,mode=min,ignore-error=true',
      ...TAIL,
    ],
  },
  {
    name: 'registry cache when push is false: imported, not exported',
    inputs: inputs({
      image: { push: false },
      cache: exactCache(`${NAME}:buildcache`, 'max'),
    }),
    expected: [
      ...GLOBAL,
      ...HEAD,
      '--import-cache',
      `type=registry,ref=${NAME}:buildcache`,
      '--output',
      `type=image,name=${NAME}:42,push=false`,
      '--metadata-file',
      META,
    ],
  },
  {
    name: 'extra cacheFrom and cacheTo lines after the registry cache, as given',
    inputs: inputs({
      cache: exactCache(`${NAME}:buildcache`, 'max'),
      cacheFrom: ['type=azblob,account_url=https://a.blob.core.windows.net,name=app'],
      cacheTo: ['type=azblob,account_url=https://a.blob.core.windows.net,name=app,mode=max'],
    }),
    expected: [
      ...GLOBAL,
      ...HEAD,
      '--import-cache',
      `type=registry,ref=${NAME}:buildcache`,
      '--import-cache',
      'type=azblob,account_url=https://a.blob.core.windows.net,name=app',
      '--export-cache',
      `type=registry,ref=${NAME}:buildcache,mode=max,ignore-error=true`,
      '--export-cache',
      'type=azblob,account_url=https://a.blob.core.windows.net,name=app,mode=max',
      ...TAIL,
    ],
  },
  {
    name: 'cacheFrom alone with cache none',
    inputs: inputs({ cacheFrom: ['type=registry,ref=docker.io/org/app:cache'] }),
    expected: [...GLOBAL, ...HEAD, '--import-cache', 'type=registry,ref=docker.io/org/app:cache', ...TAIL],
  },
  {
    name: 'extraArgs come last, word for word',
    inputs: inputs({ extraArgs: ['--allow', 'network.host', '--opt', 'build-arg:A=b c'] }),
    expected: [...GLOBAL, ...HEAD, ...TAIL, '--allow', 'network.host', '--opt', 'build-arg:A=b c'],
  },
  {
    name: 'a registry with a port',
    inputs: inputs({ image: { name: 'localhost:5000/app' } }),
    expected: [
      ...GLOBAL,
      ...HEAD,
      '--output',
      'type=image,name=localhost:5000/app:42,push=true',
      '--metadata-file',
      META,
    ],
  },
  {
    name: 'everything at once, in the documented order',
    inputs: inputs({
      image: { tags: ['1.0', 'latest'] },
      daemon: {
        addresses: [ADDR],
        tls: { caCert: '/c/ca.pem', cert: '/c/cert.pem', key: '/c/key.pem', serverName: 'bk' },
      },
      target: 'final',
      buildArgs: [{ name: 'A', value: '1' }],
      labels: new Map([['team', 'x']]),
      pipeline: PIPELINE,
      platforms: ['linux/amd64', 'linux/arm64'],
      namedContexts: [
        { name: 'shared', kind: 'local', localName: 'shared', path: '/src/shared' },
        { name: 'base', kind: 'source', source: 'docker-image://alpine:3.20' },
      ],
      secrets: [
        { id: 'npmrc', kind: 'file', path: '/t/.npmrc' },
        { id: 'token', kind: 'env', variable: 'TOKEN' },
      ],
      provenance: 'max',
      sbom: true,
      noCache: true,
      pull: true,
      cache: exactCache(`${NAME}:buildcache`, 'max'),
      cacheFrom: ['type=local,src=/cache'],
      cacheTo: ['type=local,dest=/cache'],
      extraArgs: ['--ssh', 'default'],
    }),
    expected: [
      '--addr',
      ADDR,
      '--tlscacert',
      '/c/ca.pem',
      '--tlscert',
      '/c/cert.pem',
      '--tlskey',
      '/c/key.pem',
      '--tlsservername',
      'bk',
      ...HEAD,
      '--opt',
      'target=final',
      '--opt',
      'build-arg:A=1',
      '--opt',
      'label:org.opencontainers.image.source=https://dev.azure.com/org/proj/_git/app',
      '--opt',
      'label:org.opencontainers.image.revision=abc123',
      '--opt',
      'label:org.opencontainers.image.created=2024-05-01T12:00:00Z',
      '--opt',
      'label:com.azure.dev.image.build.builduri=https://dev.azure.com/org/proj/_build/results?buildId=42',
      '--opt',
      'label:team=x',
      '--opt',
      'platform=linux/amd64,linux/arm64',
      '--local',
      'shared=/src/shared',
      '--opt',
      'context:shared=local:shared',
      '--opt',
      'context:base=docker-image://alpine:3.20',
      '--secret',
      'id=npmrc,src=/t/.npmrc',
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
      `type=registry,ref=${NAME}:buildcache`,
      '--import-cache',
      'type=local,src=/cache',
      '--export-cache',
      `type=registry,ref=${NAME}:buildcache,mode=max,ignore-error=true`,
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

describe('buildctlBuildArgs', () => {
  it('gives a daemon without TLS (one started for the job) no TLS flags, whatever the TLS inputs say', () => {
    const given = inputs({
      daemon: { addresses: [], tls: { caCert: '/ca.pem', cert: '/c.pem', key: '/k.pem', serverName: 'x' } },
    });
    const args = buildctlBuildArgs(given, { address: 'unix:///tmp/job.sock', tls: NO_TLS }, META, NOW);
    assert.deepEqual(args.slice(0, 3), ['--addr', 'unix:///tmp/job.sock', 'build']);
    assert.ok(!args.some((a) => a.startsWith('--tls')));
  });

  it('has a table of at least 30 rows', () => {
    assert.ok(rows.length >= 30, `${rows.length} rows`);
  });

  for (const row of rows) {
    it(row.name, () => {
      assert.deepEqual(buildctlBuildArgs(row.inputs, at(row.inputs, row.address), META, NOW), row.expected);
    });
  }

  it('is pure: the same inputs give the same array, and the inputs are not changed', () => {
    const given = inputs({ labels: new Map([['a', 'b']]), pipeline: PIPELINE });
    const copy = structuredClone(given);
    const first = buildctlBuildArgs(given, at(given), META, NOW);
    assert.deepEqual(buildctlBuildArgs(given, at(given), META, NOW), first);
    assert.deepEqual(given, copy);
  });

  it('stamps the current time when no time is given', () => {
    // The label has whole seconds: the stamp lies between the second before the call and the end of it.
    const before = Math.floor(Date.now() / 1000) * 1000;
    const args = buildctlBuildArgs(inputs({ pipeline: PIPELINE }), { address: ADDR, tls: NO_TLS }, META);
    const after = Date.now();
    const created = args.find((a) => a.startsWith('label:org.opencontainers.image.created='));
    assert.ok(created !== undefined);
    const stamp = Date.parse(created.slice(created.indexOf('=') + 1));
    assert.ok(stamp >= before && stamp <= after, created);
  });
});
