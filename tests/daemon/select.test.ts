import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  selectDaemon as selectDaemonFor,
  type DaemonDeps,
  type SelectedDaemon,
} from '../../tasks/BuildKitBuild/src/daemon/select';
import { NO_TLS } from '../../tasks/BuildKitBuild/src/daemon/flags';
import { rendezvousOrder } from '../../tasks/BuildKitBuild/src/daemon/rendezvous';
import { classifyPreflightFailure, runPreflight } from '../../tasks/BuildKitBuild/src/daemon/preflight';
import type { BuildInputs } from '../../tasks/BuildKitBuild/src/buildInputs/spec';
import type { DaemonTls } from '../../tasks/BuildKitBuild/src/core/daemonTls';
import type { Buildctl } from '../../tasks/BuildKitBuild/src/tool/install';
import {
  commandOf,
  fakeBuildctlDir,
  fakeBuildctlEnv,
  fakeBuildctlPath,
  flagValue,
  readInvocations,
} from '../support/fakeBuildctl';
import { makeContext, type FakeContext } from '../support/fakeContext';
import {
  refusedAddress,
  startFakeDaemon,
  tempDir,
  writeFakePem,
  type FakeDaemon,
} from '../support/fakeDaemon';
import { buildInputsFor, writeBuildContext } from '../support/buildInputs';

const buildctl: Buildctl = { path: fakeBuildctlPath, version: '0.32.2', binDir: fakeBuildctlDir };
const noTls: DaemonTls = { caCert: undefined, cert: undefined, key: undefined, serverName: undefined };
const PATH = process.env.PATH ?? '';
/** selectDaemon with what it takes from parsed inputs: the daemon inputs and the image's repository. */
const selectDaemon = (inputs: BuildInputs, ...rest: DropFirstTwo<Parameters<typeof selectDaemonFor>>) =>
  selectDaemonFor(inputs.daemon, inputs.image.repository, ...rest);
type DropFirstTwo<T extends unknown[]> = T extends [unknown, unknown, ...infer Rest] ? Rest : never;

function context(
  records: string,
  extra: { env?: Record<string, string>; variables?: Record<string, string> } = {},
): FakeContext {
  const dir = tempDir();
  return makeContext({
    env: { PATH, ...fakeBuildctlEnv(records), ...extra.env },
    variables: { 'Agent.TempDirectory': dir, ...extra.variables },
  });
}

describe('pre-flight (buildctl debug workers)', () => {
  const daemons: FakeDaemon[] = [];
  afterEach(async () => {
    await Promise.all(daemons.splice(0).map((d) => d.close()));
  });
  const run = (address: string, tls: DaemonTls = noTls, timeoutMs = 10_000) =>
    runPreflight({
      buildctlPath: fakeBuildctlPath,
      address,
      tls,
      env: { PATH },
      timeoutMs,
      signal: new AbortController().signal,
    });

  it('passes on a daemon that answers, with its platforms', async () => {
    const daemon = await startFakeDaemon();
    daemons.push(daemon);
    assert.deepEqual(await run(daemon.address), { ok: true, platforms: ['linux/amd64', 'linux/arm64'] });
  });

  it('classifies connection refused, TLS failures and the timeout', async () => {
    const refused = await run(await refusedAddress());
    assert.equal(refused.ok ? 'ok' : refused.kind, 'unreachable');
    const pems = tempDir();
    const ca = writeFakePem(pems, 'ca.pem');
    const tlsDaemon = await startFakeDaemon({ tls: { caFile: ca } });
    const silent = await startFakeDaemon({ silent: true });
    daemons.push(tlsDaemon, silent);
    const full = {
      caCert: ca,
      cert: writeFakePem(pems, 'c.pem'),
      key: writeFakePem(pems, 'k.pem'),
      serverName: undefined,
    };
    const kinds = await Promise.all([
      run(tlsDaemon.address, { ...full, caCert: writeFakePem(pems, 'other.pem') }),
      run(tlsDaemon.address, { ...full, serverName: 'elsewhere' }),
      run(tlsDaemon.address, { ...full, cert: undefined, key: undefined }),
      run(tlsDaemon.address),
      run(tlsDaemon.address, { ...full, caCert: path.join(pems, 'missing.pem') }),
      run(silent.address, noTls, 500),
    ]);
    assert.deepEqual(
      kinds.map((k) => (k.ok ? 'ok' : k.kind)),
      ['tls-authority', 'tls-name', 'tls-client-certificate', 'tls-required', 'tls-file', 'timeout'],
    );
    assert.deepEqual(await run(tlsDaemon.address, { ...full, serverName: 'buildkitd' }), {
      ok: true,
      platforms: ['linux/amd64', 'linux/arm64'],
    });
  });

  it('classifies the error texts of real buildctl', () => {
    const table: [string, string][] = [
      [
        'error: listing workers: Unavailable: connection error: desc = "transport: Error while dialing: dial tcp 10.0.0.1:1234: connect: connection refused"',
        'unreachable',
      ],
      ['dial tcp: lookup buildkitd.buildkit.svc on 10.0.0.10:53: no such host', 'unreachable'],
      [
        'transport: authentication handshake failed: tls: failed to verify certificate: x509: certificate signed by unknown authority',
        'tls-authority',
      ],
      ['x509: certificate is valid for buildkitd, not buildkitd.buildkit.svc', 'tls-name'],
      ["x509: cannot validate certificate for 10.0.0.1 because it doesn't contain any IP SANs", 'tls-name'],
      ['remote error: tls: bad certificate', 'tls-client-certificate'],
      ['remote error: tls: certificate required', 'tls-client-certificate'],
      ['tls: first record does not look like a TLS handshake', 'tls-not-tls'],
      ['context deadline exceeded', 'timeout'],
      ['something else entirely', 'other'],
    ];
    for (const [text, kind] of table) assert.equal(classifyPreflightFailure(text, true), kind, text);
    assert.equal(classifyPreflightFailure('error reading server preface: EOF', false), 'tls-required');
  });
});

describe('selectDaemon', () => {
  const daemons: FakeDaemon[] = [];
  afterEach(async () => {
    await Promise.all(daemons.splice(0).map((d) => d.close()));
  });

  it('skips a daemon that fails pre-flight for the next in rendezvous order, with a warning', async () => {
    const dir = tempDir();
    writeBuildContext(dir);
    const good = await startFakeDaemon();
    daemons.push(good);
    const refused = await refusedAddress();
    // Find a repository for which the refused daemon comes first.
    let repository = '';
    for (let i = 0; repository === ''; i++) {
      const inputs = buildInputsFor(dir, {
        repository: `team/app${i}`,
        buildkitAddress: `${good.address}\n${refused}`,
      });
      const order = rendezvousOrder(inputs.daemon.addresses, inputs.image.repository);
      if (order[0] === refused) repository = inputs.image.repository;
    }
    const records = tempDir();
    const ctx = context(records);
    const inputs = buildInputsFor(dir, { repository, buildkitAddress: `${good.address}\n${refused}` });
    const selected = await selectDaemon(inputs, buildctl, ctx, new AbortController().signal);
    assert.equal(selected.address, good.address);
    assert.deepEqual(
      readInvocations(records).map((i) => [commandOf(i), flagValue(i.argv, '--addr')]),
      [
        ['debug workers', refused],
        ['debug workers', good.address],
      ],
    );
    assert.equal(ctx.recorded.warnings.length, 1);
    assert.match(
      ctx.recorded.warnings[0] ?? '',
      /^Skipping buildkitd at tcp:\/\/127\.0\.0\.1:\d+, trying the next one: Cannot connect/,
    );
    assert.ok(ctx.recorded.infos.some((l) => l.startsWith(`Using buildkitd at ${good.address}`)));
    assert.deepEqual(ctx.recorded.groups, ['Pre-flight check of the BuildKit daemon']);
  });

  it('fails with every reason when no daemon passes, and with the one reason for one address', async () => {
    const dir = tempDir();
    writeBuildContext(dir);
    const [a, b] = [await refusedAddress(), await refusedAddress()];
    const ctx = context(tempDir());
    await assert.rejects(
      selectDaemon(
        buildInputsFor(dir, { buildkitAddress: `${a}\n${b}` }),
        buildctl,
        ctx,
        new AbortController().signal,
      ),
      /^Error: None of the 2 buildkitd addresses in buildkitAddress passed the pre-flight check[^]*\n- Cannot connect[^]*\n- Cannot connect/,
    );
    await assert.rejects(
      selectDaemon(buildInputsFor(dir, { buildkitAddress: a }), buildctl, ctx, new AbortController().signal),
      (error: Error) =>
        error.message.startsWith(`Cannot connect to buildkitd at ${a}`) && /Kubernetes/.test(error.message),
    );
  });

  it('says which TLS input to check on a server name mismatch', async () => {
    const dir = tempDir();
    writeBuildContext(dir);
    const ca = writeFakePem(dir, 'ca.pem');
    const daemon = await startFakeDaemon({ tls: { caFile: ca } });
    daemons.push(daemon);
    const inputs = buildInputsFor(dir, {
      buildkitAddress: daemon.address,
      tlsCaCert: ca,
      tlsCert: writeFakePem(dir, 'cert.pem'),
      tlsKey: writeFakePem(dir, 'key.pem'),
      tlsServerName: 'wrong.example',
    });
    await assert.rejects(
      selectDaemon(inputs, buildctl, context(tempDir()), new AbortController().signal),
      /certificate valid for buildkitd, not for wrong\.example[^]*Set tlsServerName/,
    );
  });

  it('times out a daemon that never answers and says why', async () => {
    const dir = tempDir();
    writeBuildContext(dir);
    const silent = await startFakeDaemon({ silent: true });
    daemons.push(silent);
    const ctx = context(tempDir(), { variables: { 'BuildKitBuild.PreflightTimeoutSeconds': '0.5' } });
    await assert.rejects(
      selectDaemon(
        buildInputsFor(dir, { buildkitAddress: silent.address }),
        buildctl,
        ctx,
        new AbortController().signal,
      ),
      /did not answer within 0\.5 seconds[^]*network policy/,
    );
  });

  it('with no address: BUILDKIT_HOST, else the rootless default socket, else a daemon for this job', async () => {
    const dir = tempDir();
    writeBuildContext(dir);
    const inputs = buildInputsFor(dir, { buildkitAddress: '' });
    const host = await startFakeDaemon();
    daemons.push(host);
    const signal = new AbortController().signal;
    const fromEnv = await selectDaemon(
      inputs,
      buildctl,
      context(tempDir(), { env: { BUILDKIT_HOST: host.address } }),
      signal,
    );
    assert.equal(fromEnv.address, host.address);

    const runtime = tempDir('bkb-xdg-');
    fs.mkdirSync(path.join(runtime, 'buildkit'));
    const socketDaemon = await startFakeDaemon({
      socketPath: path.join(runtime, 'buildkit', 'buildkitd.sock'),
    });
    daemons.push(socketDaemon);
    const ctx = context(tempDir(), { env: { XDG_RUNTIME_DIR: runtime } });
    const fromSocket = await selectDaemon(inputs, buildctl, ctx, signal);
    assert.equal(fromSocket.address, `unix://${runtime}/buildkit/buildkitd.sock`);

    let started = 0;
    const local: SelectedDaemon = {
      address: 'unix:///tmp/job.sock',
      tls: NO_TLS,
      dispose: () => Promise.resolve(),
    };
    const deps: DaemonDeps = {
      preflight: () => Promise.reject(new Error('no pre-flight expected')),
      isSocket: () => false,
      startLocalDaemon: () => {
        started++;
        return Promise.resolve(local);
      },
    };
    assert.equal(await selectDaemon(inputs, buildctl, context(tempDir()), signal, deps), local);
    assert.equal(started, 1);
  });
});
