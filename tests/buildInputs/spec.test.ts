import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseBuildInputs, type BuildInputs } from '../../tasks/BuildKitBuild/src/buildInputs/spec';
import { formatProblem, type InputProblem } from '../../tasks/BuildKitBuild/src/core/inputErrors';
import { INPUT_NAMES, type InputName, type RawInputs } from '../../tasks/BuildKitBuild/src/core/inputs';
import { makeContext, type FakeContext } from '../support/fakeContext';
import { taskDefinition } from '../support/repo';

const HOST = 'myacr.azurecr.io';

/** The inputs as the agent hands them over: task.json's defaults, then the test's values. */
function rawInputs(values: Partial<Record<InputName, string>>): RawInputs {
  const defaults = new Map(taskDefinition().inputs.map((i) => [i.name, i.defaultValue ?? '']));
  const raw = Object.fromEntries(INPUT_NAMES.map((n) => [n, values[n] ?? defaults.get(n) ?? '']));
  return {
    ...(raw as Record<InputName, string>),
    tags: values.tags ?? '42',
    repository: values.repository ?? 'team/app',
  };
}

interface Parsed {
  inputs: BuildInputs;
  problems: InputProblem[];
  ctx: FakeContext;
}

describe('parseBuildInputs', () => {
  let work: string;
  let variables: Record<string, string>;

  const parse = (
    values: Partial<Record<InputName, string>>,
    options: { host?: string | null; env?: Record<string, string> } = {},
  ): Parsed => {
    const ctx = makeContext({ variables, env: options.env ?? {} });
    const problems: InputProblem[] = [];
    const host = options.host === null ? undefined : (options.host ?? HOST);
    const inputs = parseBuildInputs(rawInputs(values), ctx, host, problems);
    return { inputs, problems, ctx };
  };

  const ok = (values: Partial<Record<InputName, string>>, options?: Parameters<typeof parse>[1]): Parsed => {
    const parsed = parse(values, options);
    assert.deepEqual(parsed.problems.map(formatProblem), []);
    return parsed;
  };

  before(() => {
    work = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'bkb-buildspec-')));
    fs.writeFileSync(path.join(work, 'Dockerfile'), 'FROM scratch\n');
    fs.mkdirSync(path.join(work, 'app', 'docker'), { recursive: true });
    fs.writeFileSync(path.join(work, 'app', 'docker', 'app.Dockerfile'), 'FROM scratch\n');
    fs.writeFileSync(path.join(work, 'app', 'Dockerfile'), 'FROM scratch\n');
    fs.mkdirSync(path.join(work, 'shared'));
    fs.writeFileSync(path.join(work, '.npmrc'), 'token\n');
    fs.writeFileSync(path.join(work, 'notes.txt'), 'not a directory\n');
    for (const pem of ['ca.pem', 'cert.pem', 'key.pem']) fs.writeFileSync(path.join(work, pem), 'PEM\n');
  });

  after(() => {
    fs.rmSync(work, { recursive: true, force: true });
  });

  beforeEach(() => {
    variables = {
      'System.DefaultWorkingDirectory': work,
      'Build.Repository.Uri': 'https://org@dev.azure.com/org/Project%20One/_git/app',
      'Build.SourceVersion': '0123abcd',
      'System.TeamFoundationCollectionUri': 'https://dev.azure.com/org/',
      'System.TeamProject': 'Project One',
      'Build.BuildId': '42',
    };
  });

  describe('accepts good inputs and types them', () => {
    it('defaults: full name under the registry, one tag, registry cache, pipeline metadata', () => {
      const { inputs } = ok({});
      assert.deepEqual(inputs.image, {
        repository: 'team/app',
        name: `${HOST}/team/app`,
        tags: ['42'],
        refs: [`${HOST}/team/app:42`],
        push: true,
      });
      assert.equal(inputs.context, work);
      assert.equal(inputs.dockerfile, path.join(work, 'Dockerfile'));
      // No branch variables: the default scope, the plain buildcache ref as before branch scoping.
      assert.deepEqual(inputs.cache, {
        kind: 'registry',
        mode: 'max',
        imports: [`${HOST}/team/app:buildcache`],
        export: `${HOST}/team/app:buildcache`,
        base: { name: `${HOST}/team/app`, tag: 'buildcache' },
        plan: { own: { kind: 'default' }, fallbacks: [] },
      });
      assert.deepEqual(inputs.pipeline, {
        kind: 'build',
        sourceUri: 'https://dev.azure.com/org/Project%20One/_git/app',
        revision: '0123abcd',
        buildUrl: 'https://dev.azure.com/org/Project%20One/_build/results?buildId=42',
      });
      assert.equal(inputs.noCache, false);
      assert.equal(inputs.pull, false);
      assert.equal(inputs.sbom, false);
      assert.equal(inputs.provenance, 'none');
      assert.equal(inputs.target, undefined);
      assert.deepEqual(inputs.extraArgs, []);
      assert.deepEqual(inputs.daemon, {
        addresses: [],
        tls: { caCert: undefined, cert: undefined, key: undefined, serverName: undefined },
      });
    });

    const names: [string, string | null, string][] = [
      ['team/app', null, 'docker.io/team/app'],
      ['app', null, 'docker.io/library/app'],
      ['localhost:5000/team/app', null, 'localhost:5000/team/app'],
      ['ghcr.io/org/app', null, 'ghcr.io/org/app'],
      ['registry.example.com:5000/a.b/c_d/e__f/g-h', null, 'registry.example.com:5000/a.b/c_d/e__f/g-h'],
      [`${HOST}/team/app`, HOST, `${HOST}/team/app`],
      ['team/app', 'ghcr.io', 'ghcr.io/team/app'],
    ];
    for (const [repository, host, name] of names) {
      it(`repository ${repository} with registry ${String(host)} is ${name}`, () => {
        assert.equal(ok({ repository }, { host }).inputs.image.name, name);
      });
    }

    it('the repository (the daemon-affinity key) is the same whether or not the input names the registry', () => {
      assert.equal(ok({ repository: `${HOST}/team/app` }).inputs.image.repository, 'team/app');
      assert.equal(ok({ repository: 'team/app' }).inputs.image.repository, 'team/app');
    });

    it('tags split on lines and commas, trimmed, empty lines skipped, duplicates removed', () => {
      const { inputs } = ok({ tags: ' 1.0 , latest\n\n  1.0\r\nsha-abc_DEF.1 \n' });
      assert.deepEqual(inputs.image.tags, ['1.0', 'latest', 'sha-abc_DEF.1']);
      assert.deepEqual(
        inputs.image.refs,
        ['1.0', 'latest', 'sha-abc_DEF.1'].map((t) => `${HOST}/team/app:${t}`),
      );
    });

    it('no tags is fine for a validation build (push false)', () => {
      const { inputs } = ok({ tags: '', push: 'false' });
      assert.deepEqual(inputs.image.tags, []);
      assert.equal(inputs.image.push, false);
    });

    it('booleans in any case', () => {
      const { inputs } = ok({
        push: 'FALSE',
        noCache: 'True',
        pull: 'tRuE',
        sbom: 'true',
        addPipelineMetadata: 'False',
      });
      assert.deepEqual(
        [inputs.image.push, inputs.noCache, inputs.pull, inputs.sbom, inputs.pipeline],
        [false, true, true, true, undefined],
      );
    });

    it('pick lists in any case', () => {
      const { inputs } = ok({ provenance: 'MAX', cache: 'Registry', cacheMode: 'MIN' });
      assert.equal(inputs.provenance, 'max');
      assert.equal(inputs.cache.kind === 'registry' && inputs.cache.mode, 'min');
      assert.deepEqual(ok({ cache: 'none' }).inputs.cache, { kind: 'none' });
    });

    it('a relative context starts at System.DefaultWorkingDirectory, a relative Dockerfile at the context', () => {
      const { inputs } = ok({ context: 'app', dockerfile: 'docker/app.Dockerfile' });
      assert.equal(inputs.context, path.join(work, 'app'));
      assert.equal(inputs.dockerfile, path.join(work, 'app', 'docker', 'app.Dockerfile'));
      const absolute = ok({ context: path.join(work, 'app'), dockerfile: path.join(work, 'Dockerfile') });
      assert.equal(absolute.inputs.dockerfile, path.join(work, 'Dockerfile'));
    });

    it('build args: KEY=VALUE, a bare KEY from the environment, the last line wins', () => {
      const { inputs } = ok(
        { buildArgs: 'VERSION=1\n\n  FROM_ENV  \nURL=https://x/?a=b\nVERSION=2\nEMPTY=' },
        { env: { FROM_ENV: 'env value' } },
      );
      assert.deepEqual(inputs.buildArgs, [
        { name: 'VERSION', value: '2' },
        { name: 'FROM_ENV', value: 'env value' },
        { name: 'URL', value: 'https://x/?a=b' },
        { name: 'EMPTY', value: '' },
      ]);
    });

    it('labels into a map in input order', () => {
      const { inputs } = ok({ labels: 'com.example.team=payments\n\nmaintainer = a@b.c\nTier=web=1' });
      assert.deepEqual(
        inputs.labels,
        new Map([
          ['com.example.team', 'payments'],
          ['maintainer', 'a@b.c'],
          ['Tier', 'web=1'],
        ]),
      );
    });

    it('platforms lowercased, duplicates removed', () => {
      const { inputs } = ok({ platforms: 'linux/amd64, Linux/ARM64,linux/arm/v7,linux/amd64' });
      assert.deepEqual(inputs.platforms, ['linux/amd64', 'linux/arm64', 'linux/arm/v7']);
    });

    it('target', () => {
      assert.equal(ok({ target: ' build-env.2 ' }).inputs.target, 'build-env.2');
    });

    it('secrets: files resolved and checked, variables checked and their values masked', () => {
      const { inputs, ctx } = ok(
        {
          secrets:
            'id=npmrc,src=.npmrc\n\ntype=env,id=token,env=NPM_TOKEN\nid=abs,source=' +
            path.join(work, 'ca.pem'),
        },
        { env: { NPM_TOKEN: 's3cr3t' } },
      );
      assert.deepEqual(inputs.secrets, [
        { id: 'npmrc', kind: 'file', path: path.join(work, '.npmrc') },
        { id: 'token', kind: 'env', variable: 'NPM_TOKEN' },
        { id: 'abs', kind: 'file', path: path.join(work, 'ca.pem') },
      ]);
      assert.deepEqual(ctx.recorded.secrets, ['s3cr3t']);
    });

    it('named contexts: directories, images, layouts and URLs', () => {
      // An OCI image layout holding the blob the digest names (it is lent to buildctl with --oci-layout).
      fs.mkdirSync(path.join(work, 'store', 'blobs', 'sha256'), { recursive: true });
      fs.writeFileSync(path.join(work, 'store', 'index.json'), '{"schemaVersion":2,"manifests":[]}');
      fs.writeFileSync(path.join(work, 'store', 'blobs', 'sha256', 'a'.repeat(64)), '{}');
      const { inputs } = ok({
        buildContexts: [
          'shared=shared',
          'base=docker-image://docker.io/library/alpine:3.20',
          'alpine:3.20=shared',
          'layout=oci-layout://store@sha256:' + 'a'.repeat(64),
          'src=https://example.com/src.tar.gz',
        ].join('\n'),
      });
      assert.deepEqual(inputs.namedContexts, [
        { name: 'shared', kind: 'local', localName: 'shared', path: path.join(work, 'shared') },
        { name: 'base', kind: 'source', source: 'docker-image://docker.io/library/alpine:3.20' },
        { name: 'alpine:3.20', kind: 'local', localName: 'ctx1', path: path.join(work, 'shared') },
        {
          name: 'layout',
          kind: 'oci-layout',
          storeId: 'layout',
          path: path.join(work, 'store'),
          digest: 'sha256:' + 'a'.repeat(64),
        },
        { name: 'src', kind: 'source', source: 'https://example.com/src.tar.gz' },
      ]);
    });

    it('cacheRef: a name without a registry lives in the task registry; with one it is kept', () => {
      const exact = (cache: BuildInputs['cache']) =>
        cache.kind === 'registry'
          ? { imports: cache.imports, export: cache.export, plan: cache.plan }
          : cache;
      assert.deepEqual(exact(ok({ cacheRef: 'cache/app:main' }).inputs.cache), {
        imports: [`${HOST}/cache/app:main`],
        export: `${HOST}/cache/app:main`,
        plan: undefined,
      });
      assert.deepEqual(exact(ok({ cacheRef: 'other.azurecr.io/cache/app' }).inputs.cache), {
        imports: ['other.azurecr.io/cache/app'],
        export: 'other.azurecr.io/cache/app',
        plan: undefined,
      });
      assert.deepEqual(exact(ok({ cacheRef: 'org/cache:x' }, { host: null }).inputs.cache), {
        imports: ['org/cache:x'],
        export: 'org/cache:x',
        plan: undefined,
      });
    });

    it('cacheFrom and cacheTo lines kept as typed', () => {
      const { inputs } = ok({
        cacheFrom: 'type=azblob,account_url=https://a.blob.core.windows.net,name=app\n\n',
        cacheTo: ' type=local,"dest=/a,b",mode=max ',
      });
      assert.deepEqual(inputs.cacheFrom, [
        'type=azblob,account_url=https://a.blob.core.windows.net,name=app',
      ]);
      assert.deepEqual(inputs.cacheTo, ['type=local,"dest=/a,b",mode=max']);
    });

    it('buildkitAddress: every scheme buildctl accepts, duplicates removed', () => {
      const addresses = [
        'tcp://buildkitd.buildkit.svc:1234',
        'tcp://10.0.0.5:1234',
        'tcp://[fd00::1]:1234',
        'unix:///run/buildkit/buildkitd.sock',
        'npipe:////./pipe/buildkitd',
        'ssh://user@builder:22',
        'docker-container://buildkitd',
        'podman-container://buildkitd',
        'nerdctl-container://buildkitd',
        'kube-pod://buildkitd-0?namespace=buildkit',
      ];
      const { inputs } = ok({ buildkitAddress: [...addresses, '', addresses[0] ?? ''].join('\n') });
      assert.deepEqual(inputs.daemon.addresses, addresses);
    });

    it('TLS files resolved and checked, server name kept', () => {
      const { inputs } = ok({
        tlsCaCert: 'ca.pem',
        tlsCert: path.join(work, 'cert.pem'),
        tlsKey: 'key.pem',
        tlsServerName: 'buildkitd.buildkit.svc',
      });
      assert.deepEqual(inputs.daemon.tls, {
        caCert: path.join(work, 'ca.pem'),
        cert: path.join(work, 'cert.pem'),
        key: path.join(work, 'key.pem'),
        serverName: 'buildkitd.buildkit.svc',
      });
    });

    it('extraArgs split like a shell splits words, nothing expanded', () => {
      const { inputs } = ok({
        extraArgs: `--opt "build-arg:A=b c" --opt 'label:x=$HOME' a\\ b ; $(rm -rf /) *.txt`,
      });
      assert.deepEqual(inputs.extraArgs, [
        '--opt',
        'build-arg:A=b c',
        '--opt',
        'label:x=$HOME',
        'a b',
        ';',
        '$(rm',
        '-rf',
        '/)',
        '*.txt',
      ]);
    });

    it('pipeline metadata leaves out what the pipeline does not provide', () => {
      variables = { 'System.DefaultWorkingDirectory': work, 'Build.SourceVersion': 'abc' };
      assert.deepEqual(ok({}).inputs.pipeline, {
        kind: 'build',
        sourceUri: undefined,
        revision: 'abc',
        buildUrl: undefined,
      });
    });
  });

  describe('reports bad inputs, naming the input and the line', () => {
    interface BadRow {
      name: string;
      values: Partial<Record<InputName, string>>;
      host?: string | null;
      env?: Record<string, string>;
      /** [input, line, pattern the message must match] for every problem, in order. */
      expected: [InputName, number | undefined, RegExp][];
    }

    const rows: BadRow[] = [
      {
        name: 'empty repository',
        values: { repository: '  ' },
        expected: [['repository', undefined, /required/]],
      },
      {
        name: 'uppercase repository',
        values: { repository: 'Team/App' },
        expected: [['repository', undefined, /uppercase.*use team\/app/]],
      },
      {
        name: 'repository with a tag',
        values: { repository: 'team/app:1.0' },
        expected: [['repository', undefined, /tag or digest.*\(team\/app\).*tags input/]],
      },
      {
        name: 'repository with a digest and no registry',
        values: { repository: 'ghcr.io/org/app@sha256:' + 'a'.repeat(64) },
        host: null,
        expected: [['repository', undefined, /tag or digest/]],
      },
      {
        name: 'repository with bad separators',
        values: { repository: 'team//app-' },
        expected: [['repository', undefined, /not a valid repository.*team\/app/]],
      },
      {
        name: 'repository too long',
        values: { repository: `team/${'a'.repeat(260)}` },
        expected: [['repository', undefined, /characters long; registries accept at most 255/]],
      },
      {
        name: 'a bad tag on line 3',
        values: { tags: 'v1\n\nbad tag!, ok' },
        expected: [['tags', 3, /'bad tag!' is not a valid tag/]],
      },
      {
        name: 'a tag starting with a dot',
        values: { tags: '.hidden' },
        expected: [['tags', 1, /not a valid tag/]],
      },
      {
        name: 'an unexpanded variable in a tag',
        values: { tags: '$(Build.BuildNumber)' },
        expected: [['tags', 1, /pipeline expression that was not expanded/]],
      },
      {
        name: 'no tag while pushing',
        values: { tags: ' \n , ' },
        expected: [['tags', undefined, /at least one tag.*set push to false/]],
      },
      {
        name: 'booleans other than true and false',
        values: { push: 'yes', addPipelineMetadata: '1', noCache: 'on', pull: 'always', sbom: 'maybe' },
        expected: [
          ['push', undefined, /'yes' is not a boolean: use true or false/],
          ['addPipelineMetadata', undefined, /'1' is not a boolean/],
          ['noCache', undefined, /'on'/],
          ['pull', undefined, /'always'/],
          ['sbom', undefined, /'maybe'/],
        ],
      },
      {
        name: 'pick lists',
        values: { provenance: 'full', cache: 'local', cacheMode: 'all' },
        expected: [
          ['provenance', undefined, /'full' is not one of: none, min, max/],
          ['cache', undefined, /'local' is not one of: registry, branch, none/],
          ['cacheMode', undefined, /'all' is not one of: min, max/],
        ],
      },
      {
        name: 'a missing context shows the resolved path',
        values: { context: 'missing/dir' },
        expected: [
          ['context', undefined, /build context directory \S+missing\/dir does not exist/],
          ['dockerfile', undefined, /Dockerfile \S+missing\/dir\/Dockerfile does not exist/],
        ],
      },
      {
        name: 'a context that is a file',
        values: { context: 'notes.txt', dockerfile: '../Dockerfile' },
        expected: [['context', undefined, /notes\.txt is a file, not a directory/]],
      },
      {
        name: 'a missing Dockerfile shows the resolved path and the context',
        values: { dockerfile: 'Nope.Dockerfile' },
        expected: [
          [
            'dockerfile',
            undefined,
            /Nope\.Dockerfile does not exist; relative paths start at the build context/,
          ],
        ],
      },
      {
        name: 'a Dockerfile that is a directory',
        values: { dockerfile: 'shared' },
        expected: [['dockerfile', undefined, /is a directory, not a Dockerfile/]],
      },
      {
        name: 'build args: unset bare names, missing names, bad names',
        values: { buildArgs: 'A=1\nUNSET_VAR\n=x\n\n1BAD=2\nhas space=1' },
        expected: [
          ['buildArgs', 2, /UNSET_VAR has no value.*not set.*UNSET_VAR=value/],
          ['buildArgs', 3, /'=x' is not KEY=VALUE/],
          ['buildArgs', 5, /'1BAD=2'/],
          ['buildArgs', 6, /'has space=1'/],
        ],
      },
      {
        name: 'labels: no =, bad keys',
        values: { labels: 'good=1\nnoequals\n-bad=1\nbad key=2\n=x' },
        expected: [
          ['labels', 2, /'noequals' is not key=value/],
          ['labels', 3, /'-bad' is not a valid label key/],
          ['labels', 4, /'bad key'/],
          ['labels', 5, /'' is not a valid label key/],
        ],
      },
      {
        name: 'platforms',
        values: { platforms: 'linux/amd64,linux,windows amd64,linux/arm/v7/x' },
        expected: [
          ['platforms', undefined, /'linux' is not a platform: use os\/arch/],
          ['platforms', undefined, /'windows amd64'/],
          ['platforms', undefined, /'linux\/arm\/v7\/x'/],
        ],
      },
      {
        name: 'a target that is not a stage name',
        values: { target: '1stage' },
        expected: [['target', undefined, /'1stage' is not a stage name/]],
      },
      {
        name: 'secrets, every way of getting them wrong',
        values: {
          secrets: [
            'id=ok,src=.npmrc',
            'src=.npmrc',
            'id=missing,src=nope.txt',
            'id=unset,env=NOT_SET',
            'id=both,src=.npmrc,env=SET',
            'id=neither',
            'id=mismatch,type=file,env=SET',
            'id=badtype,type=ssh,src=.npmrc',
            'id=extra,src=.npmrc,mode=0400',
            'id=ok,env=SET',
            'id="open,src=x',
            'id=bad id,env=SET',
          ].join('\n'),
        },
        env: { SET: 'value' },
        expected: [
          ['secrets', 2, /'src=\.npmrc' has no valid id=/],
          ['secrets', 3, /secret missing: the file \S+nope\.txt does not exist/],
          ['secrets', 4, /secret unset: the environment variable NOT_SET is not set/],
          ['secrets', 5, /secret both needs exactly one of src=PATH .* or env=VARIABLE/],
          ['secrets', 6, /secret neither needs exactly one/],
          ['secrets', 7, /secret mismatch says type=file but gives the other source/],
          ['secrets', 8, /secret badtype needs exactly one.*type, when given, is file or env/],
          ['secrets', 9, /unknown key mode/],
          ['secrets', 10, /the secret id ok is given twice/],
          ['secrets', 11, /is not a secret: write id=NAME,src=PATH/],
          ['secrets', 12, /'id=bad id,env=SET' has no valid id=/],
        ],
      },
      {
        name: 'named contexts',
        values: {
          buildContexts: [
            'noequals',
            'x=missingdir',
            'img=docker-image://UPPER/Case',
            'shared=shared',
            'shared=docker-image://alpine',
            'bad name=shared',
            'empty=',
          ].join('\n'),
        },
        expected: [
          ['buildContexts', 1, /'noequals' is not name=value/],
          ['buildContexts', 2, /named context x points at \S+missingdir, which is not an existing directory/],
          ['buildContexts', 3, /no valid image reference after docker-image:\/\//],
          ['buildContexts', 5, /named context shared is given twice/],
          ['buildContexts', 6, /'bad name' is not a valid context name/],
          ['buildContexts', 7, /'empty=' is not name=value/],
        ],
      },
      {
        name: 'cacheRef with a digest or bad grammar',
        values: { cacheRef: 'app@sha256:' + 'b'.repeat(64) },
        expected: [['cacheRef', undefined, /not an image reference for the cache/]],
      },
      {
        name: 'cacheRef with spaces',
        values: { cacheRef: 'bad ref' },
        expected: [['cacheRef', undefined, /'bad ref' is not an image reference/]],
      },
      {
        name: 'cache lines without type or with an open quote',
        values: { cacheFrom: '\nref=foo,mode=max', cacheTo: 'type=local,"dest=/x\ntype=' },
        expected: [
          ['cacheFrom', 2, /'ref=foo,mode=max' has no type=/],
          ['cacheTo', 1, /is not a list of key=value pairs/],
          ['cacheTo', 2, /'type=' has no type=/],
        ],
      },
      {
        name: 'addresses buildctl would not accept',
        values: {
          buildkitAddress: [
            'buildkitd:1234',
            'http://buildkitd:1234',
            'tcp://buildkitd',
            'unix://run/buildkitd.sock',
            'docker-container://',
            'tcp://buildkitd:1234',
          ].join('\n'),
        },
        expected: [
          ['buildkitAddress', 1, /not a buildkitd address: write scheme:\/\/target.*tcp, unix, npipe, ssh/],
          ['buildkitAddress', 2, /uses the scheme http, which buildctl does not accept/],
          ['buildkitAddress', 3, /needs a host and a port/],
          ['buildkitAddress', 4, /needs an absolute socket path/],
          ['buildkitAddress', 5, /names nothing after the scheme/],
        ],
      },
      {
        name: 'a client certificate without its key',
        values: { tlsCert: 'cert.pem' },
        expected: [['tlsKey', undefined, /tlsCert is set but tlsKey is not/]],
      },
      {
        name: 'a key without its certificate, a missing CA, a bad server name',
        values: { tlsKey: 'key.pem', tlsCaCert: 'nope/ca.pem', tlsServerName: 'bad name' },
        expected: [
          ['tlsCaCert', undefined, /\S+nope\/ca\.pem does not exist; for a secure file use/],
          ['tlsCert', undefined, /tlsKey is set but tlsCert is not/],
          ['tlsServerName', undefined, /'bad name' is not a host name/],
        ],
      },
      {
        name: 'extraArgs with an unbalanced quote',
        values: { extraArgs: '--opt "build-arg:A=b' },
        expected: [['extraArgs', undefined, /a quote is not closed/]],
      },
    ];

    for (const row of rows) {
      it(row.name, () => {
        const options = {
          ...(row.host === undefined ? {} : { host: row.host }),
          ...(row.env ? { env: row.env } : {}),
        };
        const { problems } = parse(row.values, options);
        assert.deepEqual(
          problems.map((p) => [p.input, p.line]),
          row.expected.map(([input, line]) => [input, line]),
          problems.map(formatProblem).join('\n'),
        );
        problems.forEach((problem, i) => {
          assert.match(problem.message, row.expected[i]?.[2] ?? /^$/);
        });
      });
    }

    it('reports every problem at once, in the order of the inputs', () => {
      const { problems } = parse({
        repository: 'Team/App',
        tags: 'ok\nbad tag',
        push: 'nope',
        context: 'missing',
        buildArgs: 'UNSET',
        labels: 'x',
        platforms: 'linux',
        secrets: 'id=a',
        buildContexts: 'x',
        provenance: 'all',
        cacheFrom: 'x=y',
        buildkitAddress: 'nowhere',
        tlsCert: 'cert.pem',
        extraArgs: "'",
      });
      assert.deepEqual(
        problems.map((p) => p.input),
        [
          'repository',
          'tags',
          'push',
          'context',
          'dockerfile',
          'buildArgs',
          'platforms',
          'labels',
          'secrets',
          'buildContexts',
          'provenance',
          'cacheFrom',
          'buildkitAddress',
          'tlsKey',
          'extraArgs',
        ],
      );
      assert.equal(
        formatProblem(problems[1] ?? { input: 'tags', message: '' }).startsWith('tags (line 2): '),
        true,
      );
    });

    it('every problem message is a real text of task.json, without unfilled placeholders', () => {
      const { problems } = parse({ repository: 'A', tags: '$(x)', buildArgs: 'B', tlsKey: 'key.pem' });
      assert.equal(problems.length, 4);
      for (const problem of problems) assert.doesNotMatch(problem.message, /%[sd]/);
    });
  });
});
