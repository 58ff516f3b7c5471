import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { authFromDockerConfig } from '../../tasks/BuildKitBuild/src/platforms/publishIndex';
import { runFakeBuildctl } from '../support/fakeBuildctl';
import { startFakeDaemon, tempDir, type FakeDaemon } from '../support/fakeDaemon';
import { writeBuildContext } from '../build/inputs';

const b64 = (text: string): string => Buffer.from(text).toString('base64');

describe('registry credentials for the merge, from the docker config the run uses', () => {
  it('identitytoken (ACR) → refresh token; auth → Basic; none → anonymous; keys matched as docker does', () => {
    const config = {
      auths: {
        'myacr.azurecr.io': { auth: b64('00000000-0000-0000-0000-000000000000:'), identitytoken: 'rt-1' },
        'https://index.docker.io/v1/': { auth: b64('hubuser:hub:pass') },
        'https://ghcr.io': { auth: b64('gh:token') },
        'broken.example': { auth: b64('no-colon') },
      },
    };
    assert.deepEqual(authFromDockerConfig(config, 'myacr.azurecr.io'), {
      kind: 'refreshToken',
      refreshToken: 'rt-1',
    });
    assert.deepEqual(authFromDockerConfig(config, 'docker.io'), {
      kind: 'basic',
      username: 'hubuser',
      password: 'hub:pass',
    });
    assert.deepEqual(authFromDockerConfig(config, 'ghcr.io'), {
      kind: 'basic',
      username: 'gh',
      password: 'token',
    });
    assert.deepEqual(authFromDockerConfig(config, 'broken.example'), { kind: 'anonymous' });
    assert.deepEqual(authFromDockerConfig(config, 'other.example'), { kind: 'anonymous' });
    assert.deepEqual(authFromDockerConfig({}, 'myacr.azurecr.io'), { kind: 'anonymous' });
  });
});

describe('the fake buildctl pushing by digest, as BuildKit does', () => {
  let daemon: FakeDaemon;
  let dir: string;
  let store: string;
  beforeEach(async () => {
    daemon = await startFakeDaemon({ workers: [{ id: 'w', platforms: ['linux/arm64'] }] });
    dir = tempDir();
    store = tempDir();
    writeBuildContext(dir);
  });
  afterEach(async () => {
    await daemon.close();
  });
  const build = (output: string, opts: string[] = []) =>
    runFakeBuildctl(
      [
        '--addr',
        daemon.address,
        'build',
        '--frontend=dockerfile.v0',
        '--local',
        `context=${dir}`,
        '--local',
        `dockerfile=${dir}`,
        ...opts.flatMap((o) => ['--opt', o]),
        '--output',
        output,
        '--metadata-file',
        path.join(dir, 'metadata.json'),
      ],
      { FAKE_BUILDCTL_REGISTRY_DIR: store },
    );

  it('refuses a tagged name with push-by-digest=true', async () => {
    const run = await build('type=image,name=r.example/team/app:7,push-by-digest=true,push=true');
    assert.equal(run.code, 1);
    assert.match(
      run.stderr,
      /^error: failed to solve: failed to push r\.example\/team\/app:7: can't push tagged ref r\.example\/team\/app:7 by digest$/m,
    );
  });

  it('pushes the platform asked for, tags nothing, and reports the content digest', async () => {
    const run = await build('type=image,name=r.example/team/app,push-by-digest=true,push=true', [
      'platform=linux/arm/v7',
    ]);
    assert.equal(run.code, 0, run.stderr);
    const metadata = JSON.parse(fs.readFileSync(path.join(dir, 'metadata.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    const digest = String(metadata['containerimage.digest']);
    const manifest = JSON.parse(
      fs.readFileSync(path.join(store, 'manifests', digest.replace(':', '-')), 'utf8'),
    ) as {
      config: { digest: string };
    };
    const config = JSON.parse(
      fs.readFileSync(path.join(store, 'blobs', manifest.config.digest.replace(':', '-')), 'utf8'),
    ) as Record<string, unknown>;
    assert.deepEqual([config.os, config.architecture, config.variant], ['linux', 'arm', 'v7']);
    assert.equal(fs.existsSync(path.join(store, 'tags')), false);
  });
});
