import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildctlBuildArgs } from '../../tasks/BuildKitBuild/src/buildctl/args';
import { runBuild } from '../../tasks/BuildKitBuild/src/buildctl/build';
import { reporter } from '../../tasks/BuildKitBuild/src/buildInputs/fields';
import { parseOciLayoutReference } from '../../tasks/BuildKitBuild/src/buildInputs/ociLayout';
import { parseNamedContexts } from '../../tasks/BuildKitBuild/src/buildInputs/sourceInputs';
import { NO_TLS } from '../../tasks/BuildKitBuild/src/daemon/flags';
import type { InputProblem } from '../../tasks/BuildKitBuild/src/core/inputErrors';
import type { Buildctl } from '../../tasks/BuildKitBuild/src/tool/install';
import {
  fakeBuildctlDir,
  fakeBuildctlEnv,
  fakeBuildctlPath,
  flagValue,
  readInvocations,
  runFakeBuildctl,
} from '../support/fakeBuildctl';
import { makeContext } from '../support/fakeContext';
import { startFakeDaemon, tempDir, type FakeDaemon } from '../support/fakeDaemon';
import { buildInputsFor, writeBuildContext } from '../support/buildInputs';

const sha = (text: string): string => `sha256:${createHash('sha256').update(text).digest('hex')}`;

/** Writes an OCI image layout with one manifest per tag; returns each tag's digest. */
function writeLayout(dir: string, tags: readonly string[]): Map<string, string> {
  const blobs = path.join(dir, 'blobs', 'sha256');
  fs.mkdirSync(blobs, { recursive: true });
  fs.writeFileSync(path.join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  const digests = new Map<string, string>();
  const manifests = tags.map((tag) => {
    const manifest = JSON.stringify({ schemaVersion: 2, tag });
    const digest = sha(manifest);
    fs.writeFileSync(path.join(blobs, digest.slice('sha256:'.length)), manifest);
    digests.set(tag, digest);
    return {
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest,
      size: manifest.length,
      annotations: { 'org.opencontainers.image.ref.name': tag },
    };
  });
  fs.writeFileSync(path.join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests }));
  return digests;
}

function contextsOf(workDir: string, raw: string) {
  const problems: InputProblem[] = [];
  const contexts = parseNamedContexts(raw, workDir, makeContext(), reporter(problems));
  return { contexts, problems: problems.map((p) => `${p.input}:${String(p.line)}: ${p.message}`) };
}

describe('oci-layout:// named contexts', () => {
  it('reads the directory, tag and digest the way buildx writes them', () => {
    const digest = `sha256:${'a'.repeat(64)}`;
    const table: [string, { dir: string; tag: string; digest: string | undefined } | undefined][] = [
      ['layout', { dir: '/w/layout', tag: 'latest', digest: undefined }],
      ['./out/base:1.2', { dir: '/w/out/base', tag: '1.2', digest: undefined }],
      [`/abs/base@${digest}`, { dir: '/abs/base', tag: 'latest', digest }],
      [`base:1.2@${digest}`, { dir: '/w/base', tag: '1.2', digest }],
      ['../v1.2/base', { dir: '/v1.2/base', tag: 'latest', digest: undefined }],
      ['', undefined],
      [':1.2', undefined],
      ['base@sha256:xyz', undefined],
      ['base:-bad', undefined],
    ];
    for (const [text, expected] of table)
      assert.deepEqual(parseOciLayoutReference(text, '/w'), expected, text);
  });

  it('lends the layout with --oci-layout and names the image by the digest of its tag', () => {
    const dir = tempDir();
    writeBuildContext(dir);
    const digests = writeLayout(path.join(dir, 'layouts', 'base'), ['1.2', 'latest']);
    const other = writeLayout(path.join(dir, 'tools'), ['latest']);
    const inputs = buildInputsFor(dir, {
      buildContexts: 'base=oci-layout://layouts/base:1.2\ntools/x=oci-layout://tools',
    });
    const args = buildctlBuildArgs(inputs, { address: 'tcp://d:1234', tls: NO_TLS }, '/m.json', new Date(0));
    const at = args.indexOf('--oci-layout');
    assert.deepEqual(args.slice(at, at + 8), [
      '--oci-layout',
      `base=${path.join(dir, 'layouts', 'base')}`,
      '--opt',
      `context:base=oci-layout://base@${digests.get('1.2') ?? ''}`,
      '--oci-layout',
      `layout1=${path.join(dir, 'tools')}`,
      '--opt',
      `context:tools/x=oci-layout://layout1@${other.get('latest') ?? ''}`,
    ]);
  });

  it('reports what is wrong with each line, naming the input and line', () => {
    const dir = tempDir();
    const digests = writeLayout(path.join(dir, 'base'), ['1.2']);
    const missingBlob = `sha256:${'0'.repeat(64)}`;
    const { contexts, problems } = contextsOf(
      dir,
      [
        'base=oci-layout://base:1.2',
        'a=oci-layout://nowhere',
        'b=oci-layout://base:2.0',
        `c=oci-layout://base@${missingBlob}`,
        'Base=oci-layout://base:1.2',
        'd=oci-layout://base@sha256:nothex',
      ].join('\n'),
    );
    assert.deepEqual(
      contexts.map((c) => (c.kind === 'oci-layout' ? c.digest : c.kind)),
      [digests.get('1.2')],
    );
    assert.equal(problems.length, 5, problems.join('\n'));
    assert.match(
      problems[0] ?? '',
      /^buildContexts:2: the named context a points at \S+nowhere, which is not an OCI image layout/,
    );
    assert.match(
      problems[1] ?? '',
      /^buildContexts:3: the OCI layout \S+ has no image tagged 2\.0 \(tags there: 1\.2\)/,
    );
    assert.match(
      problems[2] ?? '',
      new RegExp(`^buildContexts:4: the OCI layout \\S+ has no blob ${missingBlob}`),
    );
    assert.match(
      problems[3] ?? '',
      /^buildContexts:5: the named context Base cannot come from an OCI layout/,
    );
    assert.match(
      problems[4] ?? '',
      /^buildContexts:6: 'oci-layout:\/\/base@sha256:nothex' is not oci-layout:\/\/<directory>/,
    );
  });

  describe('with the fake buildctl', () => {
    let daemon: FakeDaemon;
    beforeEach(async () => {
      daemon = await startFakeDaemon();
    });
    afterEach(() => daemon.close());

    it('builds from the layout (buildctl reads it as a content store: it adds ingest/)', async () => {
      const dir = tempDir();
      const records = tempDir();
      writeBuildContext(dir);
      const digests = writeLayout(path.join(dir, 'base'), ['1.2']);
      const buildctl: Buildctl = { path: fakeBuildctlPath, version: '0.32.2', binDir: fakeBuildctlDir };
      const ctx = makeContext({
        env: { PATH: process.env.PATH ?? '', ...fakeBuildctlEnv(records) },
        variables: { 'Agent.TempDirectory': dir },
      });
      await runBuild(
        buildInputsFor(dir, { buildContexts: 'base=oci-layout://base:1.2' }),
        {
          buildctl,
          daemon: { address: daemon.address, tls: NO_TLS, dispose: () => Promise.resolve() },
          dockerConfigDir: undefined,
        },
        ctx,
        new AbortController().signal,
        { now: () => 1000, killGraceMs: 3000, outputFull: () => undefined },
      );
      const [invocation] = readInvocations(records);
      assert.equal(invocation?.exitCode, 0);
      assert.equal(flagValue(invocation.argv, '--oci-layout'), `base=${path.join(dir, 'base')}`);
      const log = ctx.recorded.infos.join('\n');
      assert.match(
        log,
        new RegExp(
          `^#\\d+ \\[context base\\] load metadata for docker\\.io/library/base@${digests.get('1.2') ?? ''}$`,
          'm',
        ),
      );
      assert.match(log, /^#\d+ \[context base\] OCI load from client$/m);
      assert.ok(fs.existsSync(path.join(dir, 'base', 'ingest')));
    });

    it('fails like BuildKit on a context without a digest or a store it was not lent', async () => {
      const dir = tempDir();
      writeBuildContext(dir);
      const argv = (extra: string[]) => [
        '--addr',
        daemon.address,
        'build',
        '--frontend=dockerfile.v0',
        '--local',
        `context=${dir}`,
        '--local',
        `dockerfile=${dir}`,
        ...extra,
      ];
      const noDigest = await runFakeBuildctl(argv(['--opt', 'context:base=oci-layout://./base:1.2']));
      assert.equal(noDigest.code, 1);
      assert.match(
        noDigest.stderr,
        /^error: failed to solve: oci-layout reference "\.\/base:1\.2" has no digest$/m,
      );
      const notLent = await runFakeBuildctl(
        argv(['--opt', `context:base=oci-layout://base@sha256:${'a'.repeat(64)}`]),
      );
      assert.match(notLent.stderr, /^error: failed to solve: unknown store base: not found$/m);
      const badFlag = await runFakeBuildctl(argv(['--oci-layout', 'nothing']));
      assert.match(
        badFlag.stderr,
        /^error: invalid oci-layout: oci-layout option must be 'id=path\/to\/layout', instead had invalid nothing$/m,
      );
    });
  });
});
