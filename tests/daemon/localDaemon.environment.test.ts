import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import type { SelectedDaemon } from '../../tasks/BuildKitBuild/src/daemon/select';
import { startLocalDaemon, type LocalDaemonDeps } from '../../tasks/BuildKitBuild/src/daemon/local';
import { buildctlProbe } from '../../tasks/BuildKitBuild/src/daemon/localWait';
import { mountsUnder } from '../../tasks/BuildKitBuild/src/daemon/localCleanup';
import { childEnvironments } from '../../tasks/BuildKitBuild/src/process/childEnvironment';
import type { Buildctl } from '../../tasks/BuildKitBuild/src/tool/install';
import { findOnPath } from '../../tasks/BuildKitBuild/src/tool/locate';
import { fakeBuildctlEnv, fakeBuildctlPath } from '../support/fakeBuildctl';
import { makeContext, type FakeContext } from '../support/fakeContext';
import {
  argAfter,
  entries,
  fakeBuildkitdBin,
  fakeSudoPath,
  isGone,
  onlyRecord,
  records,
  tempDir,
} from './localFixtures';

const release: Buildctl = { path: fakeBuildctlPath, version: '0.32.2', binDir: fakeBuildkitdBin };
const allCapabilities = (1n << 41n) - 1n;
/** Docker's default capabilities for an unprivileged container: no CAP_SYS_ADMIN. */
const unprivileged = 0xa80425fbn;

interface Setup {
  ctx: FakeContext;
  agentTemp: string;
  recordDir: string;
  runcRoot: string;
  deps: LocalDaemonDeps;
}

const recordDirs: string[] = [];
const agentTemps: string[] = [];

/** Safety net for a test that failed half-way: no fake process keeps running, no mount stays. */
function killLeftovers(): void {
  for (const dir of agentTemps.splice(0)) {
    for (const point of mountsUnder(fs.readFileSync('/proc/self/mountinfo', 'utf8'), dir)) {
      spawnSync('umount', ['--lazy', point]);
    }
  }
  for (const dir of recordDirs.splice(0)) {
    for (const program of ['buildkitd', 'rootlesskit', 'sudo', 'runc']) {
      for (const record of records(dir, program)) {
        if (!isGone(record.pid)) process.kill(record.pid, 'SIGKILL');
        for (const event of record.events) {
          const pid = Number(/^container (\d+)$/.exec(event)?.[1] ?? 0);
          if (pid > 0 && !isGone(pid)) process.kill(pid, 'SIGKILL');
        }
      }
    }
  }
}

function setup(
  options: {
    env?: Record<string, string>;
    variables?: Record<string, string>;
    deps?: Partial<LocalDaemonDeps>;
    agentTemp?: string;
  } = {},
): Setup {
  const agentTemp = options.agentTemp ?? tempDir('bkb-jd-agent-');
  const recordDir = tempDir('bkb-jd-rec-');
  const runcRoot = tempDir('bkb-jd-runc-');
  recordDirs.push(recordDir);
  agentTemps.push(agentTemp);
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    FAKE_BUILDKITD_RECORD_DIR: recordDir,
    FAKE_RUNC_ROOT: runcRoot,
    ...fakeBuildctlEnv(tempDir('bkb-jd-buildctl-')),
    ...options.env,
  };
  const ctx = makeContext({ variables: { 'Agent.TempDirectory': agentTemp, ...options.variables }, env });
  const children = childEnvironments(ctx, []);
  const deps: LocalDaemonDeps = {
    uid: 0,
    gid: 0,
    findOnPath: (tool) => findOnPath(tool, env, 'linux'),
    sudo: () => Promise.resolve(undefined),
    userNamespaces: () => ({ disabledBy: undefined, apparmorRestricted: false }),
    probe: buildctlProbe(fakeBuildctlPath, children.buildctl, ctx.loc),
    startTimeoutMs: 20_000,
    probeTimeoutMs: 5_000,
    stopGraceMs: 5_000,
    daemonEnv: children.daemon,
    proxyVariables: Object.keys(children.proxy),
    capabilities: () => ({ effective: allCapabilities, bounding: allCapabilities }),
    mountinfo: () => fs.readFileSync('/proc/self/mountinfo', 'utf8'),
    ...options.deps,
  };
  return { ctx, agentTemp, recordDir, runcRoot, deps };
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

/** Waits (event-driven on the record directory) until `check` holds; gives up after `withinMs`, saying what for. */
async function until<T>(
  what: string,
  dir: string,
  check: () => T | undefined,
  withinMs = 20_000,
): Promise<T> {
  const started = Date.now();
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() - started > withinMs) throw new Error(`gave up after ${withinMs} ms waiting for ${what}`);
    await new Promise<void>((resolve) => {
      const watcher = fs.watch(dir, () => {
        watcher.close();
        resolve();
      });
      // A change between check() and watch() would be missed: look again soon regardless.
      setTimeout(() => {
        watcher.close();
        resolve();
      }, 200).unref();
    });
  }
}

describe('job daemon: its environment, flags and privileges', function () {
  this.timeout(30_000);
  let daemon: SelectedDaemon | undefined;
  afterEach(async () => {
    await daemon?.dispose();
    daemon = undefined;
    killLeftovers();
  });

  it("gets the agent's proxy, its bypass list as NO_PROXY, and no OTEL_* variables (root)", async () => {
    const s = setup({
      variables: {
        'Agent.ProxyUrl': 'http://127.0.0.1:3128',
        'Agent.ProxyUsername': 'builder',
        'Agent.ProxyPassword': 'pa%ss',
        'Agent.ProxyBypassList': '["\\\\.corp\\\\.local"]',
      },
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4317', OTEL_SERVICE_NAME: 'agent' },
    });
    daemon = await startLocalDaemon(release, s.ctx, new AbortController().signal, s.deps);
    const buildkitd = onlyRecord(s.recordDir, 'buildkitd');
    const env = buildkitd.env ?? {};
    assert.equal(env.HTTPS_PROXY, 'http://builder:pa%25ss@127.0.0.1:3128');
    assert.equal(env.https_proxy, 'http://builder:pa%25ss@127.0.0.1:3128');
    assert.equal(env.NO_PROXY, '.corp.local');
    assert.deepEqual(buildkitd.otel, []);
    assert.ok(s.ctx.recorded.secrets.includes('pa%ss') && s.ctx.recorded.secrets.includes('pa%25ss'));
  });

  it('through sudo: the proxy is kept by name, never written on the command line', async () => {
    const s = setup({
      variables: {
        'Agent.ProxyUrl': 'http://127.0.0.1:3128',
        'Agent.ProxyUsername': 'builder',
        'Agent.ProxyPassword': 's3cr3t-proxy',
      },
      deps: { uid: 1001, gid: 1001, sudo: () => Promise.resolve(fakeSudoPath) },
    });
    daemon = await startLocalDaemon(release, s.ctx, new AbortController().signal, s.deps);
    const sudo = records(s.recordDir, 'sudo').find((r) => r.argv.includes('--oci-worker=true'));
    assert.ok(sudo !== undefined);
    const buildkitd = onlyRecord(s.recordDir, 'buildkitd');
    assert.equal(
      sudo.argv[1],
      '--preserve-env=HTTP_PROXY,HTTPS_PROXY,http_proxy,https_proxy',
      JSON.stringify(sudo.argv),
    );
    assert.ok(!JSON.stringify(sudo.argv).includes('s3cr3t-proxy'));
    const env = buildkitd.env ?? {};
    assert.equal(env.HTTPS_PROXY, 'http://builder:s3cr3t-proxy@127.0.0.1:3128');
    assert.ok(env.PATH?.startsWith(`${fakeBuildkitdBin}:`));
  });

  it('passes BUILDKITD_FLAGS last and logs them', async () => {
    const s = setup({
      variables: { BUILDKITD_FLAGS: '--allow-insecure-entitlement=network.host --debug' },
    });
    daemon = await startLocalDaemon(release, s.ctx, new AbortController().signal, s.deps);
    const argv = onlyRecord(s.recordDir, 'buildkitd').argv;
    assert.deepEqual(argv.slice(-2), ['--allow-insecure-entitlement=network.host', '--debug']);
    assert.ok(
      s.ctx.recorded.infos.includes(
        s.ctx.loc('LocalDaemonFlags', 'BUILDKITD_FLAGS', '--allow-insecure-entitlement=network.host --debug'),
      ),
    );
  });

  it('refuses bad BUILDKITD_FLAGS naming the variable, before anything starts', async () => {
    const s = setup({ variables: { BUILDKITD_FLAGS: '--debug --root /var/lib/buildkit' } });
    const error = await rejection(startLocalDaemon(release, s.ctx, new AbortController().signal, s.deps));
    assert.equal(
      error.message,
      s.ctx.loc('LocalFlagsInvalid', 'BUILDKITD_FLAGS', s.ctx.loc('LocalFlagsReserved', '--root')),
    );
    assert.deepEqual(records(s.recordDir, 'buildkitd'), []);
    assert.deepEqual(entries(s.agentTemp), []);
  });

  it('root without CAP_SYS_ADMIN (an unprivileged container): names the job daemon and what it needs', async () => {
    const s = setup({ deps: { capabilities: () => ({ effective: unprivileged, bounding: unprivileged }) } });
    const error = await rejection(startLocalDaemon(release, s.ctx, new AbortController().signal, s.deps));
    assert.equal(error.message, s.ctx.loc('LocalRootCannotMount', 'uid 0'));
    assert.match(error.message, /privileged container/);
    assert.match(error.message, /buildkitAddress/);
    assert.deepEqual(records(s.recordDir, 'buildkitd'), []);
    assert.deepEqual(entries(s.agentTemp), []);
  });

  it('sudo where the bounding set lacks CAP_SYS_ADMIN: the same, before sudo starts anything', async () => {
    const s = setup({
      deps: {
        uid: 1001,
        gid: 1001,
        sudo: () => Promise.resolve(fakeSudoPath),
        capabilities: () => ({ effective: 0n, bounding: unprivileged }),
      },
    });
    const error = await rejection(startLocalDaemon(release, s.ctx, new AbortController().signal, s.deps));
    assert.equal(error.message, s.ctx.loc('LocalRootCannotMount', `sudo (${fakeSudoPath})`));
    assert.deepEqual(records(s.recordDir, 'buildkitd'), []);
  });

  for (const odd of ['with#hash', 'with?query', 'with%41percent', 'with\nnewline']) {
    it(`an Agent.TempDirectory ${JSON.stringify(odd)}: the socket goes where buildctl reads its address back`, async () => {
      const agentTemp = path.join(tempDir('bkb-jd-odd-'), odd);
      const s = setup({ agentTemp, deps: { startTimeoutMs: 15_000 } });
      daemon = await startLocalDaemon(release, s.ctx, new AbortController().signal, s.deps);
      const socket = daemon.address.slice('unix://'.length);
      assert.ok(!socket.startsWith(agentTemp), socket);
      assert.ok(fs.statSync(socket).isSocket());
      assert.equal(
        path.dirname(argAfter(onlyRecord(s.recordDir, 'buildkitd').argv, '--root') ?? ''),
        entries(agentTemp).map((e) => path.join(agentTemp, e))[0],
      );
      await daemon.dispose();
      daemon = undefined;
      assert.ok(!fs.existsSync(path.dirname(socket)));
      assert.deepEqual(entries(agentTemp), []);
    });
  }
});

describe('job daemon: a daemon that died mid-build (the OOM killer)', function () {
  this.timeout(30_000);
  afterEach(killLeftovers);

  /** Asks the daemon to run a build step, as buildctl's solve does. */
  function runStep(socket: string): net.Socket {
    const client = net.connect(socket);
    client.on('error', () => undefined);
    client.resume(); // read the greeting, so that the end of the connection is seen
    client.write(`${JSON.stringify({ run: 'make' })}\n`);
    return client;
  }

  it('kills the build container it left running, unmounts its rootfs, then removes the state', async () => {
    const s = setup({ env: { FAKE_BUILDKITD_RUN_CONTAINER: '1' } });
    const daemon = await startLocalDaemon(release, s.ctx, new AbortController().signal, s.deps);
    const buildkitd = onlyRecord(s.recordDir, 'buildkitd');
    const client = runStep(daemon.address.slice('unix://'.length));
    const container = await until("runc's record of the step's container", s.recordDir, () => {
      const event = records(s.recordDir, 'runc')
        .flatMap((r) => r.events)
        .find((e) => e.startsWith('container '));
      return event === undefined ? undefined : Number(event.split(' ')[1]);
    });
    const events = await until("buildkitd's record of the container's rootfs", s.recordDir, () => {
      const found = onlyRecord(s.recordDir, 'buildkitd').events.find((e) => /^(mounted|rootfs) /.test(e));
      return found;
    });
    const mounted = events.startsWith('mounted ');
    const base = path.dirname(argAfter(buildkitd.argv, '--root') ?? '');
    if (mounted) assert.equal(mountsUnder(fs.readFileSync('/proc/self/mountinfo', 'utf8'), base).length, 1);

    process.kill(buildkitd.pid, 'SIGKILL'); // as the OOM killer does: no chance to clean up
    await new Promise<void>((resolve) => {
      client.on('close', () => {
        resolve();
      });
    });
    assert.ok(!isGone(container), 'the build step outlived its daemon');

    await daemon.dispose();
    assert.ok(isGone(container), 'the build step was killed');
    assert.deepEqual(mountsUnder(fs.readFileSync('/proc/self/mountinfo', 'utf8'), base), []);
    assert.deepEqual(entries(s.agentTemp), [], 'state removed');
    assert.deepEqual(entries(s.runcRoot), [], "runc's state of the container removed");
    assert.deepEqual(s.ctx.recorded.warnings, [
      s.ctx.loc('LocalLeftoversCleaned', 'signal SIGKILL', 1, mounted ? 1 : 0),
    ]);
  });

  it('never removes through a mount it could not undo: the state stays, and the warning says why', async function () {
    if (process.getuid?.() !== 0) this.skip(); // umount must be allowed to run and fail for its own reason
    let stuck = '';
    // mountinfo lists a mount that umount cannot undo (here: it is not really there).
    const s = setup({
      deps: { mountinfo: () => (stuck === '' ? '' : `99 22 0:60 / ${stuck} rw - tmpfs t rw\n`) },
    });
    const daemon = await startLocalDaemon(release, s.ctx, new AbortController().signal, s.deps);
    const base = path.dirname(argAfter(onlyRecord(s.recordDir, 'buildkitd').argv, '--root') ?? '');
    stuck = path.join(base, 'root', 'stuck');
    fs.mkdirSync(stuck, { recursive: true });
    await daemon.dispose();
    assert.deepEqual(s.ctx.recorded.warnings, [s.ctx.loc('LocalStillMounted', base, stuck)]);
    assert.ok(fs.existsSync(stuck), 'nothing below the mount was removed');
    fs.rmSync(base, { recursive: true, force: true });
  });
});
