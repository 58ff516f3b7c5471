import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { mountsUnder } from '../../tasks/BuildKitBuild/src/daemon/localCleanup';
import { startTask, type TaskRun, type TaskRunOptions } from '../support/agent';
import {
  commandOf,
  fakeBuildctlDir,
  fakeBuildctlEnv,
  readInvocations,
  type FakeBuildctlBehaviour,
} from '../support/fakeBuildctl';
import { assertNoLeaks, assertNoStackTrace, freshHome } from '../support/leaks';
import { bundledTaskEntry } from '../support/repo';
import { waitForValue } from '../support/waitFor';
import { secretValue } from '../support/servers/loopback';
import { dockerRegistryConnection } from '../support/connections';
import { writeBuildContext } from '../support/buildInputs';
import { fakeBuildkitdBin, isGone, records, tempDir } from './localFixtures';

/**
 * Faults of a daemon the task starts for the job, against the bundled task as the agent runs it (as
 * root, here): a proxied agent, a daemon killed mid-build, root without privileges, an odd temp path,
 * bad BUILDKITD_FLAGS, OpenTelemetry variables. Every case also scans the output for the secrets and the
 * directories for credential files.
 */

const PASSWORD = secretValue('registry-password');

interface Scenario {
  dir: string;
  home: string;
  buildctlRecords: string;
  buildkitdRecords: string;
  runcRoot: string;
}

function scenario(): Scenario {
  const dir = tempDir('bkb-jd-bb-');
  writeBuildContext(dir);
  return {
    dir,
    home: freshHome(),
    buildctlRecords: tempDir('bkb-jd-bbc-'),
    buildkitdRecords: tempDir('bkb-jd-bbd-'),
    runcRoot: tempDir('bkb-jd-bbr-'),
  };
}

async function taskOptions(
  s: Scenario,
  options: {
    behaviour?: FakeBuildctlBehaviour;
    env?: Record<string, string>;
    variables?: Record<string, string>;
  } = {},
): Promise<TaskRunOptions> {
  return {
    entry: await bundledTaskEntry(),
    cwd: s.dir,
    pathPrepend: [fakeBuildctlDir, fakeBuildkitdBin],
    inputs: { containerRegistry: 'reg', repository: 'team/app', tags: '7' },
    endpoints: { reg: dockerRegistryConnection('https://r.example', 'builder', PASSWORD) },
    variables: options.variables ?? {},
    env: {
      ...fakeBuildctlEnv(s.buildctlRecords, options.behaviour),
      FAKE_BUILDKITD_RECORD_DIR: s.buildkitdRecords,
      FAKE_RUNC_ROOT: s.runcRoot,
      HOME: s.home,
      ...options.env,
    },
    timeoutMs: 45_000,
  };
}

/** Every fake process a case started, and every build container, must be gone afterwards. */
function leftoverPids(s: Scenario): number[] {
  const pids: number[] = [];
  for (const program of ['buildkitd', 'runc', 'sudo', 'rootlesskit']) {
    for (const record of records(s.buildkitdRecords, program)) {
      pids.push(record.pid);
      for (const event of record.events) {
        const container = /^container (\d+)$/.exec(event)?.[1];
        if (container !== undefined) pids.push(Number(container));
      }
    }
  }
  return pids.filter((pid) => !isGone(pid));
}

function assertCleanedUp(run: TaskRun, s: Scenario): void {
  assert.deepEqual(leftoverPids(s), [], 'no daemon, runc or build step left running');
  assert.deepEqual(
    mountsUnder(fs.readFileSync('/proc/self/mountinfo', 'utf8'), run.tempDirectory),
    [],
    'nothing left mounted',
  );
  assert.deepEqual(
    fs.readdirSync(run.tempDirectory).filter((e) => e.startsWith('buildkitd-')),
    [],
    'state removed',
  );
  assertNoLeaks(run, [PASSWORD], s.home);
  assertNoStackTrace(run);
}

describe('job daemon faults (black box)', function () {
  this.timeout(60_000);
  const scenarios: Scenario[] = [];
  afterEach(() => {
    for (const s of scenarios.splice(0)) for (const pid of leftoverPids(s)) process.kill(pid, 'SIGKILL');
  });
  const fresh = (): Scenario => {
    const s = scenario();
    scenarios.push(s);
    return s;
  };

  it("a proxied agent: buildctl and the daemon get the agent's proxy, its password encoded and masked", async () => {
    const s = fresh();
    const proxyPassword = `${secretValue('proxy')}%4@:`;
    const run = await startTask(
      await taskOptions(s, {
        variables: {
          'Agent.ProxyUrl': 'http://127.0.0.1:3128',
          'Agent.ProxyUsername': 'builder',
          'Agent.ProxyBypassList': JSON.stringify(['\\.corp\\.example', '10\\.0\\.\\d+']),
        },
        env: { SECRET_AGENT_PROXYPASSWORD: proxyPassword },
      }),
    ).done;
    assert.equal(run.result, 'Succeeded', run.resultMessage);
    const expected = `http://builder:${encodeURIComponent(proxyPassword)}@127.0.0.1:3128`;
    const [buildkitd] = records(s.buildkitdRecords, 'buildkitd');
    const env = buildkitd?.env ?? {};
    assert.equal(env.HTTPS_PROXY, expected);
    assert.equal(env.NO_PROXY, '.corp.example');
    const invocations = readInvocations(s.buildctlRecords).filter((i) => commandOf(i) !== '--version');
    assert.ok(invocations.some((i) => commandOf(i) === 'build'));
    for (const invocation of invocations) assert.equal(invocation.env.HTTPS_PROXY, expected);
    assert.match(run.stdout, /NO_PROXY cannot express[^\n]*10\\\.0\\\.\\d\+/);
    for (const secret of [proxyPassword, encodeURIComponent(proxyPassword)]) {
      assert.ok(
        run.commands.some((c) => c.name === 'task.setsecret' && c.message === secret),
        secret,
      );
    }
    // task-lib echoes the variables it reads into the debug log; the agent masks that line itself.
    const shown = run.stdout
      .split('\n')
      .filter(
        (l) =>
          !l.startsWith('##vso[task.setsecret]') && !l.startsWith('##vso[task.debug]Agent.ProxyPassword='),
      );
    assert.deepEqual(
      shown.filter((l) => l.includes(proxyPassword) || l.includes(encodeURIComponent(proxyPassword))),
      [],
    );
    assertCleanedUp(run, s);
  });

  it('a daemon killed mid-build (the OOM killer): its build step is killed, its rootfs unmounted, its state removed', async () => {
    const s = fresh();
    const task = startTask(
      await taskOptions(s, {
        behaviour: { slowMs: 20_000 },
        env: { FAKE_BUILDKITD_RUN_CONTAINER: '1' },
      }),
    );
    await task.waitForOutput('RUN make');
    // The step's container: wait for runc to record it, then kill the daemon as the OOM killer would.
    const container = await waitForValue("runc's record of the RUN step's container", () => {
      const event = records(s.buildkitdRecords, 'runc')
        .flatMap((r) => r.events)
        .find((e) => e.startsWith('container '));
      return event === undefined ? undefined : Number(event.split(' ')[1]);
    });
    const [buildkitd] = records(s.buildkitdRecords, 'buildkitd');
    assert.ok(buildkitd);
    process.kill(buildkitd.pid, 'SIGKILL');
    const run = await task.done;
    assert.equal(run.result, 'Failed');
    assert.match(run.resultMessage ?? '', /error reading from server: EOF/);
    assert.match(run.stdout, /had ended \(signal SIGKILL\) leaving 1 build container\(s\) running/);
    assert.ok(isGone(container), 'the build step was killed');
    assertCleanedUp(run, s);
  });

  it('root without CAP_SYS_ADMIN (an unprivileged container): fails before starting, naming what the daemon needs', async function () {
    const s = fresh();
    const options = await taskOptions(s);
    const launcher = {
      command: 'setpriv',
      args: ['--bounding-set=-sys_admin', '--', process.execPath, options.entry],
    };
    if (process.getuid?.() !== 0) this.skip(); // the task would not run as root: another mode applies
    const run = await startTask({ ...options, launcher }).done;
    assert.equal(run.result, 'Failed', run.resultMessage);
    assert.match(
      run.resultMessage ?? '',
      /would run as root \(uid 0\) but without the CAP_SYS_ADMIN capability/,
    );
    assert.match(run.resultMessage ?? '', /privileged container/);
    assert.match(run.resultMessage ?? '', /buildkitAddress/);
    assert.deepEqual(records(s.buildkitdRecords, 'buildkitd'), [], 'no daemon started');
    assertCleanedUp(run, s);
  });

  for (const odd of ['_temp#1', '_temp?x=1', '_temp%25', '_te\nmp']) {
    it(`an Agent.TempDirectory with ${JSON.stringify(odd)}: the build runs on a socket buildctl can reach`, async () => {
      const s = fresh();
      const agentTemp = path.join(tempDir('bkb-jd-odd-'), odd);
      fs.mkdirSync(agentTemp);
      const run = await startTask(
        await taskOptions(s, {
          variables: { 'Agent.TempDirectory': agentTemp, 'BuildKitBuild.LocalDaemonStartTimeout': '20' },
        }),
      ).done;
      assert.equal(run.result, 'Succeeded', run.resultMessage);
      const address = run.variables.buildkitAddress ?? '';
      assert.ok(!address.includes(odd), address);
      assert.deepEqual(
        fs.readdirSync(agentTemp).filter((e) => e.startsWith('buildkitd-')),
        [],
        'state removed',
      );
      assertCleanedUp({ ...run, tempDirectory: agentTemp }, s);
    });
  }

  it('BUILDKITD_FLAGS reach the daemon; OTEL_* variables do not', async () => {
    const s = fresh();
    const run = await startTask(
      await taskOptions(s, {
        env: {
          BUILDKITD_FLAGS: "--allow-insecure-entitlement=network.host --oci-worker-gc-keepstorage '10GB'",
          OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4317',
          OTEL_TRACES_EXPORTER: 'otlp',
        },
      }),
    ).done;
    assert.equal(run.result, 'Succeeded', run.resultMessage);
    const [buildkitd] = records(s.buildkitdRecords, 'buildkitd');
    assert.deepEqual(buildkitd?.argv.slice(-3), [
      '--allow-insecure-entitlement=network.host',
      '--oci-worker-gc-keepstorage',
      '10GB',
    ]);
    assert.deepEqual(buildkitd.otel, []);
    assert.match(run.stdout, /Flags for the job's BuildKit daemon from BUILDKITD_FLAGS: /);
    assertCleanedUp(run, s);
  });

  for (const [flags, fragment] of [
    ['--debug "unterminated', /a quote is not closed/],
    ['--debug \\', /ends with a backslash/],
    ['native', /must start with a buildkitd flag/],
    ['--addr=tcp://0.0.0.0:1234', /the task sets --addr itself/],
  ] as const) {
    it(`BUILDKITD_FLAGS ${JSON.stringify(flags)}: fails naming the variable, nothing started`, async () => {
      const s = fresh();
      const run = await startTask(await taskOptions(s, { variables: { BUILDKITD_FLAGS: flags } })).done;
      assert.equal(run.result, 'Failed');
      assert.match(run.resultMessage ?? '', /^BUILDKITD_FLAGS \(flags for the BuildKit daemon/);
      assert.match(run.resultMessage ?? '', fragment);
      assert.deepEqual(records(s.buildkitdRecords, 'buildkitd'), []);
      assert.equal(readInvocations(s.buildctlRecords).filter((i) => commandOf(i) === 'build').length, 0);
      assertCleanedUp(run, s);
    });
  }
});
