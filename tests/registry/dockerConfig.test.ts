import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  mergeDockerConfig,
  userConfigPath,
  writeDockerConfig,
} from '../../tasks/BuildKitBuild/src/registry/dockerConfig';
import { registryCredential } from '../../tasks/BuildKitBuild/src/registry/registryCredential';
import { makeContext } from '../support/fakeContext';

const b64 = (s: string): string => Buffer.from(s).toString('base64');
const acr = (ctx = makeContext()) =>
  registryCredential(
    { host: 'myacr.azurecr.io', configKey: 'myacr.azurecr.io' },
    '00000000-0000-0000-0000-000000000000',
    { identityToken: 'rt-1' },
    ctx,
  );
const ACR = acr();

describe('mergeDockerConfig', () => {
  it('writes an ACR entry with identitytoken and the all-zero user', () => {
    assert.deepEqual(mergeDockerConfig({}, [ACR]), {
      auths: {
        'myacr.azurecr.io': { auth: b64('00000000-0000-0000-0000-000000000000:'), identitytoken: 'rt-1' },
      },
    });
  });

  it('keeps the user entries and settings, replacing entries and helpers for our registry however spelt', () => {
    const user = {
      auths: {
        'ghcr.io': { auth: b64('me:gh') },
        'https://myacr.azurecr.io': { auth: b64('old:old') },
      },
      credHelpers: { 'myacr.azurecr.io': 'acr-env', 'gcr.io': 'gcloud' },
      proxies: { default: { httpProxy: 'http://proxy:3128' } },
    };
    const before = JSON.stringify(user);
    assert.deepEqual(mergeDockerConfig(user, [ACR]), {
      auths: {
        'ghcr.io': { auth: b64('me:gh') },
        'myacr.azurecr.io': { auth: b64('00000000-0000-0000-0000-000000000000:'), identitytoken: 'rt-1' },
      },
      credHelpers: { 'gcr.io': 'gcloud' },
      proxies: { default: { httpProxy: 'http://proxy:3128' } },
    });
    assert.equal(JSON.stringify(user), before, 'the input is not modified');
  });

  it('turns a global credsStore into helpers for the other registries it served, so ours win', () => {
    const user = {
      auths: { 'quay.io': {}, 'ghcr.io': { auth: b64('a:b') }, 'myacr.azurecr.io': {} },
      credsStore: 'desktop',
    };
    assert.deepEqual(mergeDockerConfig(user, [ACR]), {
      auths: {
        'quay.io': {},
        'ghcr.io': { auth: b64('a:b') },
        'myacr.azurecr.io': { auth: b64('00000000-0000-0000-0000-000000000000:'), identitytoken: 'rt-1' },
      },
      credHelpers: { 'quay.io': 'desktop' },
    });
  });

  it('keys Docker Hub as https://index.docker.io/v1/ and drops the user entries for Docker Hub', () => {
    const hub = registryCredential(
      { host: 'docker.io', configKey: 'https://index.docker.io/v1/' },
      'u',
      { password: 'p' },
      makeContext(),
    );
    assert.deepEqual(
      mergeDockerConfig(
        { auths: { 'docker.io': { auth: b64('x:y') } }, credHelpers: { 'index.docker.io': 'pass' } },
        [hub],
      ),
      {
        auths: { 'https://index.docker.io/v1/': { auth: b64('u:p') } },
      },
    );
  });
});

describe('userConfigPath', () => {
  it('prefers DOCKER_CONFIG, else ~/.docker', () => {
    assert.equal(
      userConfigPath({ DOCKER_CONFIG: '/cfg', HOME: '/home/a' }),
      path.join('/cfg', 'config.json'),
    );
    assert.equal(userConfigPath({ HOME: '/home/a' }), path.join('/home/a', '.docker', 'config.json'));
  });
});

describe('writeDockerConfig', () => {
  let temp: string;
  let userDir: string;
  beforeEach(() => {
    temp = fs.mkdtempSync(path.join(os.tmpdir(), 'bkb-agent-temp-'));
    userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bkb-user-docker-'));
  });
  afterEach(() => {
    fs.rmSync(temp, { recursive: true, force: true });
    fs.rmSync(userDir, { recursive: true, force: true });
  });

  it('writes a private 0700 directory with a 0600 config.json under Agent.TempDirectory, the user file untouched', () => {
    const userFile = path.join(userDir, 'config.json');
    const userText = JSON.stringify({ auths: { 'ghcr.io': { auth: b64('me:gh') } } });
    fs.writeFileSync(userFile, userText);
    const ctx = makeContext({ variables: { 'Agent.TempDirectory': temp }, env: { DOCKER_CONFIG: userDir } });
    const ghcr = registryCredential(
      { host: 'ghcr.io', configKey: 'ghcr.io' },
      'bot',
      { password: 'pw-9' },
      ctx,
    );
    const config = writeDockerConfig([acr(ctx), ghcr], ctx);
    const dir = config.dir ?? assert.fail('no directory');
    assert.ok(dir.startsWith(path.join(temp, 'bkb-docker-')));
    assert.equal(fs.statSync(dir).mode & 0o777, 0o700);
    const file = path.join(dir, 'config.json');
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    const written = JSON.parse(fs.readFileSync(file, 'utf8')) as { auths: Record<string, unknown> };
    assert.deepEqual(Object.keys(written.auths).sort(), ['ghcr.io', 'myacr.azurecr.io']);
    assert.deepEqual(written.auths['ghcr.io'], { auth: b64('bot:pw-9') });
    assert.equal(fs.readFileSync(userFile, 'utf8'), userText);
    for (const secret of ['rt-1', 'pw-9', b64('bot:pw-9')])
      assert.ok(ctx.recorded.secrets.includes(secret), secret);
    config.dispose();
    assert.equal(fs.existsSync(dir), false);
    config.dispose();
    assert.deepEqual(fs.readdirSync(temp), []);
  });

  it('writes nothing when there are no credentials, so buildctl keeps the user config', () => {
    const ctx = makeContext({ variables: { 'Agent.TempDirectory': temp } });
    const config = writeDockerConfig([], ctx);
    assert.equal(config.dir, undefined);
    assert.deepEqual(fs.readdirSync(temp), []);
  });

  it('warns about an unreadable user config and carries on with ours', () => {
    fs.writeFileSync(path.join(userDir, 'config.json'), '{not json');
    const ctx = makeContext({ variables: { 'Agent.TempDirectory': temp }, env: { DOCKER_CONFIG: userDir } });
    const config = writeDockerConfig([ACR], ctx);
    assert.equal(ctx.recorded.warnings.length, 1);
    assert.match(ctx.recorded.warnings[0] ?? '', /could not be read/);
    const written = JSON.parse(fs.readFileSync(path.join(config.dir ?? '', 'config.json'), 'utf8')) as object;
    assert.deepEqual(Object.keys(written), ['auths']);
    config.dispose();
  });
});
