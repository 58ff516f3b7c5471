import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fakeBuildctlEnv, fakeBuildctlPath, readInvocations, runFakeBuildctl } from './fakeBuildctl';
import { refusedAddress, startFakeDaemon, tempDir, writeFakePem, type FakeDaemon } from './fakeDaemon';

/** A build context with a Dockerfile, and the argv of a typical build against `address`. */
function buildArgv(address: string, dir: string, extra: string[] = []): string[] {
  fs.writeFileSync(path.join(dir, 'Dockerfile'), 'FROM alpine:3.20\nRUN make\n');
  return [
    '--addr',
    address,
    'build',
    '--progress=plain',
    '--frontend',
    'dockerfile.v0',
    '--local',
    `context=${dir}`,
    '--local',
    `dockerfile=${dir}`,
    '--output',
    'type=image,"name=r.example/team/app:1,r.example/team/app:latest",push=true',
    '--metadata-file',
    path.join(dir, 'metadata.json'),
    ...extra,
  ];
}

describe('the fake buildctl', () => {
  let daemon: FakeDaemon;
  let dir: string;
  beforeEach(async () => {
    daemon = await startFakeDaemon();
    dir = tempDir();
  });
  afterEach(() => daemon.close());

  it('prints its version like buildctl', async () => {
    const run = await runFakeBuildctl(['--version'], { FAKE_BUILDCTL_VERSION: '0.20.1' });
    assert.equal(run.code, 0);
    assert.match(run.stdout, /^buildctl github\.com\/moby\/buildkit v0\.20\.1 \S+\n$/);
  });

  it('rejects an unknown flag the way urfave/cli does', async () => {
    const run = await runFakeBuildctl(['build', '--frontend', 'dockerfile.v0', '--xyz', 'a']);
    assert.equal(run.code, 1);
    assert.match(run.stdout, /^Incorrect Usage: flag provided but not defined: -xyz$/m);
    assert.match(run.stderr, /^error: flag provided but not defined: -xyz$/m);
  });

  it('rejects a build flag given before the command (global flags only there)', async () => {
    const run = await runFakeBuildctl(['--frontend', 'dockerfile.v0', 'build']);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /flag provided but not defined: -frontend/);
  });

  it('lists the workers of a daemon', async () => {
    const run = await runFakeBuildctl(['--addr', daemon.address, 'debug', 'workers']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^ID\s+PLATFORMS\nw1\s+linux\/amd64,linux\/arm64\n$/);
  });

  it('reports connection refused like buildctl', async () => {
    const address = await refusedAddress();
    const run = await runFakeBuildctl(['--addr', address, 'debug', 'workers']);
    assert.equal(run.code, 1);
    const port = address.split(':').at(-1) ?? '';
    assert.equal(
      run.stderr,
      `error: failed to list workers: Unavailable: connection error: desc = "transport: Error while dialing: dial tcp 127.0.0.1:${port}: connect: connection refused"\n`,
    );
  });

  it('uses BUILDKIT_HOST when --addr is absent', async () => {
    const run = await runFakeBuildctl(['debug', 'workers'], { BUILDKIT_HOST: daemon.address });
    assert.equal(run.code, 0, run.stderr);
  });

  it('checks mutual TLS against the daemon: CA, server name, client certificate', async () => {
    const pems = tempDir();
    const ca = writeFakePem(pems, 'ca.pem');
    const otherCa = writeFakePem(pems, 'other.pem');
    const cert = writeFakePem(pems, 'cert.pem');
    const key = writeFakePem(pems, 'key.pem', 'PRIVATE KEY');
    const tlsDaemon = await startFakeDaemon({ tls: { caFile: ca } });
    try {
      const run = (args: string[]) =>
        runFakeBuildctl(['--addr', tlsDaemon.address, ...args, 'debug', 'workers']);
      const ok = await run([
        '--tlscacert',
        ca,
        '--tlscert',
        cert,
        '--tlskey',
        key,
        '--tlsservername',
        'buildkitd',
      ]);
      assert.equal(ok.code, 0, ok.stderr);
      const wrongCa = await run(['--tlscacert', otherCa, '--tlscert', cert, '--tlskey', key]);
      assert.match(wrongCa.stderr, /x509: certificate signed by unknown authority/);
      const wrongName = await run([
        '--tlscacert',
        ca,
        '--tlscert',
        cert,
        '--tlskey',
        key,
        '--tlsservername',
        'x',
      ]);
      assert.match(wrongName.stderr, /x509: certificate is valid for buildkitd, not x/);
      const noCert = await run(['--tlscacert', ca]);
      assert.match(noCert.stderr, /: write tcp 127\.0\.0\.1:\d+->127\.0\.0\.1:\d+: write: broken pipe$/m);
      assert.deepEqual([wrongCa.code, wrongName.code, noCert.code], [1, 1, 1]);
    } finally {
      await tlsDaemon.close();
    }
  });

  it('builds: plain progress on stderr, metadata file, and a record of argv and DOCKER_CONFIG', async () => {
    const records = tempDir();
    const dockerConfig = tempDir();
    fs.writeFileSync(path.join(dockerConfig, 'config.json'), '{"auths":{"r.example":{"auth":"eDp5"}}}');
    const argv = buildArgv(daemon.address, dir);
    const run = await runFakeBuildctl(argv, {
      ...fakeBuildctlEnv(records, { digest: `sha256:${'a'.repeat(64)}` }),
      DOCKER_CONFIG: dockerConfig,
    });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /^#1 \[internal\] load build definition from Dockerfile$/m);
    assert.match(run.stderr, /^#5 CACHED$/m);
    assert.match(run.stderr, /^#6 \[2\/3\] RUN make$/m);
    assert.match(run.stderr, /^#8 pushing manifest for r\.example\/team\/app:latest@sha256:a{64} /m);
    const metadata = JSON.parse(fs.readFileSync(path.join(dir, 'metadata.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    assert.equal(metadata['containerimage.digest'], `sha256:${'a'.repeat(64)}`);
    assert.equal(metadata['image.name'], 'r.example/team/app:1,r.example/team/app:latest');
    const invocations = readInvocations(records);
    assert.equal(invocations.length, 1);
    const invocation = invocations[0];
    assert.ok(invocation);
    assert.deepEqual(invocation.argv, argv);
    assert.deepEqual(invocation.dockerConfig, { auths: { 'r.example': { auth: 'eDp5' } } });
    assert.equal(invocation.env.DOCKER_CONFIG, dockerConfig);
    assert.equal(invocation.exitCode, 0);
  });

  it('fails when DOCKER_CONFIG is set but its config.json cannot be read', async () => {
    const run = await runFakeBuildctl(buildArgv(daemon.address, dir), {
      DOCKER_CONFIG: path.join(dir, 'none'),
    });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /config\.json cannot be read/);
  });

  it('fails a step on demand like BuildKit', async () => {
    const run = await runFakeBuildctl(buildArgv(daemon.address, dir), { FAKE_BUILDCTL_FAIL_STEP: '2' });
    assert.equal(run.code, 1);
    assert.match(
      run.stderr,
      /^#6 ERROR: process "\/bin\/sh -c make" did not complete successfully: exit code: 2$/m,
    );
    assert.match(
      run.stderr,
      /error: failed to solve: process "\/bin\/sh -c make" did not complete successfully: exit code: 2\n$/,
    );
    assert.equal(fs.existsSync(path.join(dir, 'metadata.json')), false);
  });

  it('a failing cache export is an error line with ignore-error=true, and fails the build without it', async () => {
    const env = { FAKE_BUILDCTL_CACHE_EXPORT_FAIL: '1' };
    const tolerant = await runFakeBuildctl(
      buildArgv(daemon.address, dir, ['--export-cache', 'type=registry,ref=r.example/c:b,ignore-error=true']),
      env,
    );
    assert.equal(tolerant.code, 0, tolerant.stderr);
    assert.match(tolerant.stderr, /^#9 ERROR: failed to push r\.example\/c:b/m);
    const strict = await runFakeBuildctl(
      buildArgv(daemon.address, dir, ['--export-cache', 'type=registry,ref=r.example/c:b']),
      env,
    );
    assert.equal(strict.code, 1);
  });

  it('stops on SIGTERM during a slow build, exits 143 and records the signal', async () => {
    const records = tempDir();
    const child = spawn(fakeBuildctlPath, buildArgv(daemon.address, dir), {
      env: { PATH: process.env.PATH ?? '', ...fakeBuildctlEnv(records, { slowMs: 60_000 }) },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    await new Promise<void>((resolve) => {
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
        stderr += chunk;
        if (stderr.includes('#6 [2/3] RUN make')) resolve();
      });
    });
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.equal(code, 143);
    assert.match(stderr, /#6 CANCELED/);
    assert.equal(readInvocations(records)[0]?.signal, 'SIGTERM');
  });
});
