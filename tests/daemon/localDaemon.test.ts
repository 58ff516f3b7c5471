import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { SelectedDaemon } from '../../tasks/BuildKitBuild/src/daemon/select';
import { startLocalDaemon, type LocalDaemonDeps } from '../../tasks/BuildKitBuild/src/daemon/local';
import { buildctlProbe } from '../../tasks/BuildKitBuild/src/daemon/localWait';
import { CancelledError } from '../../tasks/BuildKitBuild/src/core/cancellation';
import type { Buildctl } from '../../tasks/BuildKitBuild/src/tool/install';
import { findOnPath } from '../../tasks/BuildKitBuild/src/tool/locate';
import { fakeBuildctlEnv, fakeBuildctlPath, readInvocations } from '../support/fakeBuildctl';
import { makeContext, type FakeContext } from '../support/fakeContext';
import { waitFor } from '../support/waitFor';
import {
  argAfter,
  entries,
  fakeBuildkitdBin,
  fakeBuildkitdPath,
  fakeRootlesskitDir,
  fakeRootlesskitPath,
  fakeSudoPath,
  greeting,
  isGone,
  onlyRecord,
  records,
  tempDir,
} from './localFixtures';

const release: Buildctl = { path: fakeBuildctlPath, version: '0.32.2', binDir: fakeBuildkitdBin };

interface Setup {
  ctx: FakeContext;
  agentTemp: string;
  recordDir: string;
  buildctlRecordDir: string;
  deps: LocalDaemonDeps;
}

const recordDirs: string[] = [];

/** Safety net: a test that failed half-way must not leave fake daemons behind (they keep mocha alive). */
function killLeftovers(): void {
  for (const dir of recordDirs.splice(0)) {
    for (const program of ['buildkitd', 'rootlesskit', 'sudo']) {
      for (const record of records(dir, program)) {
        if (!isGone(record.pid)) process.kill(record.pid, 'SIGKILL');
      }
    }
  }
}

function setup(
  options: { env?: Record<string, string>; deps?: Partial<LocalDaemonDeps>; pathDirs?: string[] } = {},
): Setup {
  const agentTemp = tempDir('bkb-local-agent-');
  const recordDir = tempDir('bkb-local-rec-');
  const buildctlRecordDir = tempDir('bkb-local-buildctl-');
  recordDirs.push(recordDir);
  const env: Record<string, string> = {
    PATH: [...(options.pathDirs ?? []), process.env.PATH ?? ''].join(path.delimiter),
    FAKE_BUILDKITD_RECORD_DIR: recordDir,
    ...fakeBuildctlEnv(buildctlRecordDir),
    ...options.env,
  };
  const ctx = makeContext({ variables: { 'Agent.TempDirectory': agentTemp }, env });
  const deps: LocalDaemonDeps = {
    uid: 0,
    gid: 0,
    findOnPath: (tool) => findOnPath(tool, env, 'linux'),
    sudo: () => Promise.resolve(undefined),
    userNamespaces: () => ({ disabledBy: undefined, apparmorRestricted: false }),
    probe: buildctlProbe(fakeBuildctlPath, env, ctx.loc),
    startTimeoutMs: 20_000,
    probeTimeoutMs: 5_000,
    stopGraceMs: 5_000,
    daemonEnv: env,
    proxyVariables: [],
    // Every capability: a root that may mount (tests of its absence say so).
    capabilities: () => ({ effective: (1n << 41n) - 1n, bounding: (1n << 41n) - 1n }),
    mountinfo: () => fs.readFileSync('/proc/self/mountinfo', 'utf8'),
    ...options.deps,
  };
  return { ctx, agentTemp, recordDir, buildctlRecordDir, deps };
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error: unknown) {
    assert.ok(error instanceof Error);
    return error;
  }
  assert.fail('expected a rejection');
}

/** The started daemon's socket path, from buildkitd's own argv. */
function socketOf(recordDir: string): string {
  const addr = argAfter(onlyRecord(recordDir, 'buildkitd').argv, '--addr') ?? '';
  assert.match(addr, /^unix:\/\//);
  return addr.slice('unix://'.length);
}

describe('local daemon: started, waited for, stopped and cleaned up (fake buildkitd)', function () {
  this.timeout(30_000);
  let daemon: SelectedDaemon | undefined;
  afterEach(async () => {
    await daemon?.dispose();
    daemon = undefined;
    killLeftovers();
  });

  it('as root: private socket and state under Agent.TempDirectory, ready when buildctl debug workers answers', async () => {
    const s = setup();
    daemon = await startLocalDaemon(release, s.ctx, new AbortController().signal, s.deps);
    const buildkitd = onlyRecord(s.recordDir, 'buildkitd');
    const [base = ''] = entries(s.agentTemp);
    assert.ok(base.startsWith('buildkitd-'), base);
    const baseDir = path.join(s.agentTemp, base);
    assert.equal(daemon.address, `unix://${path.join(baseDir, 'buildkitd.sock')}`);
    assert.deepEqual(buildkitd.argv, [
      '--addr',
      daemon.address,
      '--root',
      path.join(baseDir, 'root'),
      '--oci-worker=true',
      '--oci-worker-binary',
      path.join(fakeBuildkitdBin, 'buildkit-runc'),
    ]);
    assert.equal(fs.statSync(baseDir).mode & 0o777, 0o700);
    assert.ok(fs.existsSync(path.join(baseDir, 'root', 'fake-buildkitd.json')), 'state written under --root');
    // Waited for with the real check, against this socket only.
    const probes = readInvocations(s.buildctlRecordDir);
    assert.ok(probes.length >= 1);
    for (const probe of probes) assert.deepEqual(probe.argv, ['--addr', daemon.address, 'debug', 'workers']);
    assert.equal(probes.at(-1)?.exitCode, 0);
    assert.deepEqual(JSON.parse(await greeting(socketOf(s.recordDir))), {
      fakeBuildkitd: 1,
      workers: [{ id: 'w1', platforms: ['linux/amd64', 'linux/arm64'] }],
      tls: null,
    });
    assert.ok(s.ctx.recorded.infos.includes(s.ctx.loc('LocalModeRoot')));
    assert.ok(
      s.ctx.recorded.infos.some((line) => line.startsWith("The job's BuildKit daemon answered after")),
    );

    await daemon.dispose();
    daemon = undefined;
    assert.deepEqual(onlyRecord(s.recordDir, 'buildkitd').events, ['listening', 'SIGTERM']);
    assert.ok(isGone(buildkitd.pid));
    assert.deepEqual(entries(s.agentTemp), [], 'socket and state removed');
    assert.deepEqual(s.ctx.recorded.warnings, []);
  });

  it('through passwordless sudo: sudo -n buildkitd with --group, SIGTERM relayed, state removed', async () => {
    const s = setup({
      deps: { uid: 1001, gid: 1001, sudo: () => Promise.resolve(fakeSudoPath) },
    });
    daemon = await startLocalDaemon(release, s.ctx, new AbortController().signal, s.deps);
    const sudo = onlyRecord(s.recordDir, 'sudo');
    const buildkitd = onlyRecord(s.recordDir, 'buildkitd');
    assert.deepEqual(sudo.argv.slice(0, 4), [
      '-n',
      '/usr/bin/env',
      `PATH=${fakeBuildkitdBin}:${s.ctx.env.PATH ?? ''}`,
      fakeBuildkitdPath,
    ]);
    assert.deepEqual(sudo.argv.slice(4), buildkitd.argv);
    // sudo reset the environment; env(1) gave buildkitd its release's bin/ first again.
    assert.equal(buildkitd.env?.PATH, `${fakeBuildkitdBin}:${s.ctx.env.PATH ?? ''}`);
    assert.equal(argAfter(buildkitd.argv, '--group'), '1001');
    assert.ok(s.ctx.recorded.infos.includes(s.ctx.loc('LocalModeSudo', '1001', fakeSudoPath)));
    await daemon.dispose();
    daemon = undefined;
    const sudos = records(s.recordDir, 'sudo');
    assert.deepEqual(sudos.find((r) => r.pid === sudo.pid)?.events, ['SIGTERM']);
    // Leftover build containers are looked for with the daemon's privileges.
    assert.deepEqual(
      sudos.filter((r) => r.pid !== sudo.pid).map((r) => r.argv),
      [['-n', path.join(fakeBuildkitdBin, 'buildkit-runc'), 'list', '--format', 'json']],
    );
    assert.deepEqual(onlyRecord(s.recordDir, 'buildkitd').events, ['listening', 'SIGTERM']);
    assert.ok(isGone(buildkitd.pid) && isGone(sudo.pid));
    assert.deepEqual(entries(s.agentTemp), []);
  });

  it('rootless: rootlesskit from PATH with its state under the job, no process sandbox', async () => {
    const s = setup({ deps: { uid: 1001, gid: 1001 }, pathDirs: [fakeRootlesskitDir] });
    daemon = await startLocalDaemon(release, s.ctx, new AbortController().signal, s.deps);
    const rootlesskit = onlyRecord(s.recordDir, 'rootlesskit');
    const buildkitd = onlyRecord(s.recordDir, 'buildkitd');
    const baseDir = path.dirname(argAfter(buildkitd.argv, '--root') ?? '');
    assert.deepEqual(rootlesskit.flags, [`--state-dir=${path.join(baseDir, 'rootlesskit')}`, '--net=host']);
    assert.equal(buildkitd.argv.at(-1), '--oci-worker-no-process-sandbox');
    assert.equal(argAfter(buildkitd.argv, '--group'), undefined);
    const env = buildkitd.env ?? {};
    assert.equal(env.XDG_RUNTIME_DIR, path.join(baseDir, 'run'));
    assert.equal(env.ROOTLESSKIT_STATE_DIR, path.join(baseDir, 'rootlesskit'));
    assert.ok(s.ctx.recorded.infos.includes(s.ctx.loc('LocalModeRootless', fakeRootlesskitPath, '1001')));
    await daemon.dispose();
    daemon = undefined;
    assert.ok(isGone(buildkitd.pid) && isGone(rootlesskit.pid));
    assert.deepEqual(entries(s.agentTemp), []);
  });

  it('keeps the socket outside a deep Agent.TempDirectory and removes both', async () => {
    const s = setup();
    const deep = path.join(s.agentTemp, 'x'.repeat(70), 'y'.repeat(30));
    const ctx = makeContext({ variables: { 'Agent.TempDirectory': deep }, env: { ...s.ctx.env } });
    daemon = await startLocalDaemon(release, ctx, new AbortController().signal, s.deps);
    const socket = socketOf(s.recordDir);
    assert.ok(!socket.startsWith(deep));
    assert.ok(fs.existsSync(socket));
    await daemon.dispose();
    daemon = undefined;
    assert.ok(!fs.existsSync(path.dirname(socket)), 'socket directory removed');
    assert.deepEqual(entries(deep), []);
  });

  it('dispose twice stops once', async () => {
    const s = setup();
    daemon = await startLocalDaemon(release, s.ctx, new AbortController().signal, s.deps);
    await Promise.all([daemon.dispose(), daemon.dispose()]);
    await daemon.dispose();
    daemon = undefined;
    assert.equal(
      s.ctx.recorded.infos.filter((l) => l.startsWith("Stopping the job's BuildKit daemon")).length,
      1,
    );
  });

  it('kills a daemon that ignores SIGTERM after the grace period, and says so', async () => {
    const s = setup({ env: { FAKE_BUILDKITD_IGNORE_SIGTERM: '1' }, deps: { stopGraceMs: 300 } });
    daemon = await startLocalDaemon(release, s.ctx, new AbortController().signal, s.deps);
    const pid = onlyRecord(s.recordDir, 'buildkitd').pid;
    await daemon.dispose();
    daemon = undefined;
    assert.deepEqual(onlyRecord(s.recordDir, 'buildkitd').events, ['listening', 'SIGTERM-ignored']);
    assert.ok(isGone(pid));
    assert.deepEqual(s.ctx.recorded.warnings, [s.ctx.loc('LocalKilled', 0.3)]);
    assert.deepEqual(entries(s.agentTemp), []);
  });
});

describe('local daemon: start-up failures say what is missing and point at buildkitAddress', function () {
  this.timeout(30_000);
  afterEach(killLeftovers);

  it('exits at start: its error and exit code in the message, state removed', async () => {
    const s = setup({
      env: {
        FAKE_BUILDKITD_EXIT_AT_START:
          'buildkitd: failed to create worker: mount overlay: operation not permitted (kernel lacks overlayfs)',
      },
    });
    const error = await rejection(startLocalDaemon(release, s.ctx, new AbortController().signal, s.deps));
    assert.match(error.message, /exited \(exit code 1\) before it answered/);
    assert.match(error.message, /kernel lacks overlayfs/);
    assert.match(error.message, /buildkitAddress/);
    assert.deepEqual(entries(s.agentTemp), []);
  });

  it('rootless start-up refused by the kernel: names user namespaces, uidmap and subuid', async () => {
    const s = setup({
      deps: { uid: 1001, gid: 1001 },
      pathDirs: [fakeRootlesskitDir],
      env: {
        FAKE_ROOTLESSKIT_FAIL:
          '[rootlesskit:parent] error: failed to setup UID/GID map: newuidmap 4242 [0 1001 1 1 100000 65536] failed: newuidmap: write to uid_map failed: Operation not permitted',
      },
    });
    const error = await rejection(startLocalDaemon(release, s.ctx, new AbortController().signal, s.deps));
    assert.match(error.message, /newuidmap: write to uid_map failed/);
    assert.ok(error.message.includes(s.ctx.loc('LocalHintRootless')), error.message);
    assert.deepEqual(records(s.recordDir, 'buildkitd'), []);
    assert.deepEqual(entries(s.agentTemp), []);
  });

  it('never answers: bounded wait, the last log lines in the message, daemon stopped, state removed', async () => {
    const s = setup({ env: { FAKE_BUILDKITD_NO_SOCKET: '1' }, deps: { startTimeoutMs: 1500 } });
    const error = await rejection(startLocalDaemon(release, s.ctx, new AbortController().signal, s.deps));
    assert.match(error.message, /did not answer on unix:\/\/\S+ within 1\.5 s/);
    assert.match(error.message, /the socket \S+buildkitd\.sock was never created/);
    assert.match(error.message, /waiting for the snapshotter to be ready/);
    assert.match(error.message, /BuildKitBuild\.LocalDaemonStartTimeout/);
    const buildkitd = onlyRecord(s.recordDir, 'buildkitd');
    assert.deepEqual(buildkitd.events, ['hanging', 'SIGTERM']);
    assert.ok(isGone(buildkitd.pid));
    assert.deepEqual(entries(s.agentTemp), []);
  });

  it('accepts but never greets: each check is bounded, the last answer is reported', async () => {
    const s = setup({
      env: { FAKE_BUILDKITD_SILENT: '1' },
      deps: { startTimeoutMs: 2000, probeTimeoutMs: 400 },
    });
    const error = await rejection(startLocalDaemon(release, s.ctx, new AbortController().signal, s.deps));
    assert.match(error.message, /within 2 s \(last check: no answer within \d+ ms\)/);
    assert.ok(readInvocations(s.buildctlRecordDir).length >= 2, 'checked more than once');
    assert.deepEqual(entries(s.agentTemp), []);
  });

  it('no privileges: nothing started, says to use buildkitAddress, sudo or rootlesskit', async () => {
    const s = setup({ deps: { uid: 1001, findOnPath: () => undefined } });
    const error = await rejection(startLocalDaemon(release, s.ctx, new AbortController().signal, s.deps));
    assert.equal(error.message, s.ctx.loc('LocalNoPrivileges', '1001'));
    assert.match(error.message, /buildkitAddress/);
    assert.match(error.message, /rootlesskit/);
    assert.deepEqual(fs.readdirSync(s.recordDir), []);
    assert.deepEqual(entries(s.agentTemp), []);
  });

  it('user namespaces disabled: names the sysctl', async () => {
    const s = setup({
      deps: {
        uid: 1001,
        userNamespaces: () => ({
          disabledBy: 'kernel.unprivileged_userns_clone=0',
          apparmorRestricted: false,
        }),
      },
      pathDirs: [fakeRootlesskitDir],
    });
    const error = await rejection(startLocalDaemon(release, s.ctx, new AbortController().signal, s.deps));
    assert.match(error.message, /kernel\.unprivileged_userns_clone=0/);
    assert.match(error.message, /buildkitAddress/);
    assert.deepEqual(fs.readdirSync(s.recordDir), []);
  });

  it('no buildkitd anywhere: says where it looked and how to get one', async () => {
    const empty = tempDir('bkb-local-nobk-');
    const s = setup({ deps: { findOnPath: () => undefined } });
    const buildctl: Buildctl = { path: path.join(empty, 'buildctl'), version: '0.32.2', binDir: empty };
    const error = await rejection(startLocalDaemon(buildctl, s.ctx, new AbortController().signal, s.deps));
    assert.equal(error.message, s.ctx.loc('LocalBuildkitdMissing', `${empty}, PATH`));
    assert.match(error.message, /buildctlVersion/);
  });

  it('not Linux: a clear error asking for buildkitAddress', async () => {
    const s = setup();
    const ctx = makeContext({ platform: 'win32', env: { ...s.ctx.env } });
    const error = await rejection(startLocalDaemon(release, ctx, new AbortController().signal, s.deps));
    assert.equal(error.message, ctx.loc('LocalUnsupportedPlatform', 'win32'));
    assert.match(error.message, /buildkitAddress/);
  });
});

describe('local daemon: cancellation', function () {
  this.timeout(30_000);
  afterEach(killLeftovers);

  it('cancelled while waiting: CancelledError, daemon stopped, state removed', async () => {
    const s = setup({ env: { FAKE_BUILDKITD_NO_SOCKET: '1' } });
    const cancel = new AbortController();
    const started = startLocalDaemon(release, s.ctx, cancel.signal, s.deps);
    // Cancel once the daemon is up and hanging.
    await waitFor('buildkitd to record that it hangs without a socket', () =>
      records(s.recordDir, 'buildkitd').some((r) => r.events.includes('hanging')),
    );
    cancel.abort('SIGTERM');
    const error = await rejection(started);
    assert.ok(error instanceof CancelledError);
    const buildkitd = onlyRecord(s.recordDir, 'buildkitd');
    assert.deepEqual(buildkitd.events, ['hanging', 'SIGTERM']);
    assert.ok(isGone(buildkitd.pid));
    assert.deepEqual(entries(s.agentTemp), []);
  });

  it('already cancelled: nothing is started', async () => {
    const s = setup();
    const cancel = new AbortController();
    cancel.abort('SIGINT');
    const error = await rejection(startLocalDaemon(release, s.ctx, cancel.signal, s.deps));
    assert.ok(error instanceof CancelledError);
    assert.deepEqual(fs.readdirSync(s.recordDir), []);
  });
});
