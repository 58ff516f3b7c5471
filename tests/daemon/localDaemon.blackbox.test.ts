import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startTask, type TaskRun, type TaskRunOptions } from '../support/agent';
import {
  commandOf,
  fakeBuildctlDir,
  fakeBuildctlEnv,
  readInvocations,
  type FakeBuildctlBehaviour,
} from '../support/fakeBuildctl';
import { assertNoStackTrace } from '../support/leaks';
import { bundledTaskEntry } from '../support/repo';
import { waitFor } from '../support/waitFor';
import { writeBuildContext } from '../support/buildInputs';
import {
  argAfter,
  fakeBuildkitdBin,
  isGone,
  onlyRecord,
  records,
  tempDir,
  type FakeRecord,
} from './localFixtures';
import { dockerRegistryConnection } from '../support/connections';

interface Scenario {
  dir: string;
  buildctlRecords: string;
  buildkitdRecords: string;
}

/** The bundled task with no buildkitAddress: fake buildctl and fake buildkitd on PATH, a registry connection. */
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
    endpoints: {
      reg: dockerRegistryConnection('https://r.example', 'builder', 'pa55-w0rd'),
    },
    variables: options.variables ?? {},
    env: {
      ...fakeBuildctlEnv(s.buildctlRecords, options.behaviour),
      FAKE_BUILDKITD_RECORD_DIR: s.buildkitdRecords,
      ...options.env,
    },
    timeoutMs: 45_000,
  };
}

function scenario(): Scenario {
  const dir = tempDir('bkb-local-bb-');
  writeBuildContext(dir);
  return { dir, buildctlRecords: tempDir('bkb-local-bbc-'), buildkitdRecords: tempDir('bkb-local-bbd-') };
}

const builds = (s: Scenario) => readInvocations(s.buildctlRecords).filter((i) => commandOf(i) === 'build');

/** The daemon the task started: under Agent.TempDirectory, stopped with SIGTERM, gone, its state removed. */
function assertStartedAndCleanedUp(run: TaskRun, s: Scenario, events: string[]): FakeRecord {
  const buildkitd = onlyRecord(s.buildkitdRecords, 'buildkitd');
  const address = argAfter(buildkitd.argv, '--addr') ?? '';
  const root = argAfter(buildkitd.argv, '--root') ?? '';
  const base = path.dirname(root);
  assert.equal(path.dirname(base), run.tempDirectory, 'state under Agent.TempDirectory');
  assert.equal(address, `unix://${path.join(base, 'buildkitd.sock')}`);
  assert.deepEqual(buildkitd.events, events);
  assert.ok(isGone(buildkitd.pid), 'the daemon is gone');
  assert.deepEqual(
    fs.readdirSync(run.tempDirectory).filter((e) => e.startsWith('buildkitd-')),
    [],
    'socket and state removed',
  );
  return buildkitd;
}

const noStackTrace = (run: TaskRun) => {
  assertNoStackTrace(run);
};

describe('the bundled task with no daemon configured: a job-scoped buildkitd (black box)', function () {
  this.timeout(60_000);
  const started: FakeRecord[][] = [];
  afterEach(() => {
    for (const record of started.splice(0).flat())
      if (!isGone(record.pid)) process.kill(record.pid, 'SIGKILL');
  });
  const run = async (s: Scenario, options: Parameters<typeof taskOptions>[1] = {}) => {
    const result = await startTask(await taskOptions(s, options)).done;
    started.push(records(s.buildkitdRecords, 'buildkitd'));
    return result;
  };

  it('starts buildkitd as root, builds and pushes on it, then stops it and removes its state', async () => {
    const s = scenario();
    const result = await run(s);
    assert.equal(result.result, 'Succeeded', result.resultMessage);
    assert.equal(result.exitCode, 0);
    const buildkitd = assertStartedAndCleanedUp(result, s, ['listening', 'SIGTERM']);
    const address = argAfter(buildkitd.argv, '--addr') ?? '';
    assert.equal(
      argAfter(buildkitd.argv, '--oci-worker-binary'),
      path.join(fakeBuildkitdBin, 'buildkit-runc'),
    );
    const [build, ...more] = builds(s);
    assert.ok(build);
    assert.equal(more.length, 0);
    assert.deepEqual(build.argv.slice(0, 3), ['--addr', address, 'build']);
    // The registry cache works as with a remote daemon: a job-scoped daemon still starts warm.
    assert.equal(argAfter(build.argv, '--import-cache'), 'type=registry,ref=r.example/team/app:buildcache');
    assert.match(
      argAfter(build.argv, '--export-cache') ?? '',
      /^type=registry,ref=r\.example\/team\/app:buildcache,/,
    );
    assert.equal(result.variables.buildkitAddress, address);
    assert.match(result.stdout, /Starting buildkitd for this job as root, because the task runs as root\./);
    assert.match(result.stdout, /The job's BuildKit daemon answered after [\d.]+ s\./);
    assert.match(result.stdout, /Stopping the job's BuildKit daemon \(pid \d+\) and removing its state\./);
  });

  it('stops it and removes its state when the build fails', async () => {
    const s = scenario();
    const result = await run(s, { behaviour: { failStep: 2 } });
    assert.equal(result.result, 'Failed');
    assert.equal(builds(s).length, 1);
    assertStartedAndCleanedUp(result, s, ['listening', 'SIGTERM']);
    noStackTrace(result);
  });

  it('stops it and removes its state when the task is cancelled during the build (SIGTERM)', async () => {
    const s = scenario();
    const task = startTask(await taskOptions(s, { behaviour: { slowMs: 20_000 } }));
    await task.waitForOutput('RUN make');
    task.child.kill('SIGTERM');
    const result = await task.done;
    started.push(records(s.buildkitdRecords, 'buildkitd'));
    assert.equal(result.result, 'Cancelled', result.resultMessage);
    assertStartedAndCleanedUp(result, s, ['listening', 'SIGTERM']);
  });

  it('stops it and removes its state when the task is cancelled while waiting for it (SIGTERM)', async () => {
    const s = scenario();
    const task = startTask(await taskOptions(s, { env: { FAKE_BUILDKITD_NO_SOCKET: '1' } }));
    await task.waitForOutput('Started buildkitd');
    await waitFor('buildkitd to record that it hangs without a socket', () =>
      records(s.buildkitdRecords, 'buildkitd').some((r) => r.events.includes('hanging')),
    );
    task.child.kill('SIGTERM');
    const result = await task.done;
    started.push(records(s.buildkitdRecords, 'buildkitd'));
    assert.equal(result.result, 'Cancelled', result.resultMessage);
    assert.equal(builds(s).length, 0);
    assertStartedAndCleanedUp(result, s, ['hanging', 'SIGTERM']);
  });

  it("fails with the daemon's own error and a pointer to buildkitAddress when it cannot start", async () => {
    const s = scenario();
    const result = await run(s, {
      env: {
        FAKE_BUILDKITD_EXIT_AT_START: 'buildkitd: mkdir /sys/fs/cgroup/buildkit: read-only file system',
      },
    });
    assert.equal(result.result, 'Failed');
    assert.match(result.resultMessage ?? '', /exited \(exit code 1\) before it answered/);
    assert.match(result.resultMessage ?? '', /read-only file system/);
    assert.match(result.resultMessage ?? '', /buildkitAddress/);
    assert.equal(builds(s).length, 0);
    assertStartedAndCleanedUp(result, s, ['exit-at-start']);
    noStackTrace(result);
  });

  it('gives up after BuildKitBuild.LocalDaemonStartTimeout seconds with its last log lines', async () => {
    const s = scenario();
    const result = await run(s, {
      env: { FAKE_BUILDKITD_NO_SOCKET: '1' },
      variables: { 'BuildKitBuild.LocalDaemonStartTimeout': '2' },
    });
    assert.equal(result.result, 'Failed');
    assert.match(result.resultMessage ?? '', /did not answer on unix:\/\/\S+ within 2 s/);
    assert.match(result.resultMessage ?? '', /waiting for the snapshotter to be ready/);
    assert.equal(builds(s).length, 0);
    assertStartedAndCleanedUp(result, s, ['hanging', 'SIGTERM']);
  });

  it('fails naming where it looked when there is no buildkitd', async () => {
    const s = scenario();
    const options = await taskOptions(s);
    const result = await startTask({ ...options, pathPrepend: [fakeBuildctlDir] }).done;
    assert.equal(result.result, 'Failed');
    assert.match(result.resultMessage ?? '', /buildkitd is not in .*fake-buildctl, PATH/);
    assert.match(result.resultMessage ?? '', /buildctlVersion/);
    assert.deepEqual(records(s.buildkitdRecords, 'buildkitd'), []);
  });
});
