import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { rendezvousOrder } from '../../tasks/BuildKitBuild/src/daemon/rendezvous';
import { runTask, startTask, type TaskRunOptions } from '../support/agent';
import {
  commandOf,
  fakeBuildctlDir,
  fakeBuildctlEnv,
  flagValue,
  readInvocations,
  type FakeBuildctlBehaviour,
} from '../support/fakeBuildctl';
import {
  refusedAddress,
  startFakeDaemon,
  tempDir,
  writeFakePem,
  type FakeDaemon,
} from '../support/fakeDaemon';
import { bundledTaskEntry } from '../support/repo';
import { writeBuildContext } from '../support/buildInputs';
import { dockerRegistryConnection } from '../support/connections';

/** The bundled task as the agent runs it, with the fake buildctl first on PATH and a registry connection. */
async function taskOptions(
  dir: string,
  records: string,
  inputs: Record<string, string>,
  behaviour: FakeBuildctlBehaviour = {},
  variables: Record<string, string> = {},
): Promise<TaskRunOptions> {
  return {
    entry: await bundledTaskEntry(),
    cwd: dir,
    pathPrepend: [fakeBuildctlDir],
    inputs: { containerRegistry: 'reg', repository: 'team/app', tags: '7\nlatest', ...inputs },
    endpoints: {
      reg: dockerRegistryConnection('https://r.example', 'builder', 'pa55-w0rd'),
    },
    variables,
    env: fakeBuildctlEnv(records, behaviour),
  };
}

const builds = (records: string) => readInvocations(records).filter((i) => commandOf(i) === 'build');
const preflights = (records: string) =>
  readInvocations(records).filter((i) => commandOf(i) === 'debug workers');

describe('the bundled task with the fake buildctl (black box)', function () {
  this.timeout(60_000);
  const daemons: FakeDaemon[] = [];
  let dir: string;
  let records: string;
  beforeEach(() => {
    dir = tempDir();
    records = tempDir();
    writeBuildContext(dir);
  });
  afterEach(async () => {
    await Promise.all(daemons.splice(0).map((d) => d.close()));
  });
  const daemon = async (options: Parameters<typeof startFakeDaemon>[0] = {}) => {
    const started = await startFakeDaemon(options);
    daemons.push(started);
    return started;
  };

  it('builds: argv, private DOCKER_CONFIG, outputs, summary', async () => {
    const d = await daemon();
    const digest = `sha256:${'c'.repeat(64)}`;
    const run = await runTask(await taskOptions(dir, records, { buildkitAddress: d.address }, { digest }));
    assert.equal(run.result, 'Succeeded', run.resultMessage);
    assert.match(run.resultMessage ?? '', new RegExp(`^Built (\\S+:\\S+, )+digest ${digest}\\.$`));
    assert.equal(run.exitCode, 0);
    const [build, ...more] = builds(records);
    assert.ok(build);
    assert.equal(more.length, 0);
    assert.deepEqual(build.argv.slice(0, 3), ['--addr', d.address, 'build']);
    assert.ok(build.argv.includes('--progress=plain'));
    assert.equal(
      flagValue(build.argv, '--output'),
      'type=image,"name=r.example/team/app:7,r.example/team/app:latest",push=true',
    );
    assert.ok(build.env.DOCKER_CONFIG);
    assert.equal(fs.existsSync(build.env.DOCKER_CONFIG), false, 'the private docker config is removed');
    assert.ok(JSON.stringify(build.dockerConfig).includes('r.example'));
    assert.equal(preflights(records).length, 1);
    assert.deepEqual(
      {
        buildkitAddress: run.variables.buildkitAddress,
        imageDigest: run.variables.imageDigest,
        imageRefs: run.variables.imageRefs,
        imageRefWithDigest: run.variables.imageRefWithDigest,
      },
      {
        buildkitAddress: d.address,
        imageDigest: digest,
        imageRefs: 'r.example/team/app:7,r.example/team/app:latest',
        imageRefWithDigest: `r.example/team/app@${digest}`,
      },
    );
    const summary = run.commands.find((c) => c.name === 'task.addattachment');
    assert.ok(summary);
    assert.deepEqual(summary.properties, { type: 'Distributedtask.Core.Summary', name: 'BuildKit build' });
    assert.equal(path.dirname(summary.message), run.tempDirectory);
    assert.match(fs.readFileSync(summary.message, 'utf8'), /\| Steps \| 3 Dockerfile steps, 1 cached \|/);
    assert.match(run.stdout, /^##\[group\]buildctl build on tcp:\/\/127\.0\.0\.1:\d+$/m);
    assert.match(run.stdout, /^#6 \[2\/3\] RUN make$/m);
    const leaks = run.stdout
      .split('\n')
      .filter((l) => l.includes('pa55-w0rd') && !l.startsWith('##vso[task.setsecret]'));
    assert.deepEqual(leaks, [], 'the password appears only in setsecret commands');
  });

  it('fails over: the first daemon in rendezvous order refuses, the second builds', async () => {
    const good = await daemon();
    const refused = await refusedAddress();
    let repository = 'team/app';
    for (let i = 0; rendezvousOrder([good.address, refused], repository)[0] !== refused; i++)
      repository = `team/app${i}`;
    const run = await runTask(
      await taskOptions(dir, records, { repository, buildkitAddress: `${good.address}\n${refused}` }),
    );
    assert.equal(run.exitCode, 0, run.resultMessage);
    assert.deepEqual(
      preflights(records).map((i) => flagValue(i.argv, '--addr')),
      [refused, good.address],
    );
    assert.equal(flagValue(builds(records)[0]?.argv ?? [], '--addr'), good.address);
    assert.match(
      run.stdout,
      /##vso\[task\.issue type=warning;?[^\]]*\]Skipping buildkitd at tcp:\/\/127\.0\.0\.1:\d+, trying the next one: Cannot connect/,
    );
    assert.equal(run.variables.buildkitAddress, good.address);
  });

  it('fails with a message naming tlsServerName when the certificate name does not match', async () => {
    const ca = writeFakePem(dir, 'ca.pem');
    const d = await daemon({ tls: { caFile: ca } });
    const run = await runTask(
      await taskOptions(dir, records, {
        buildkitAddress: d.address,
        tlsCaCert: ca,
        tlsCert: writeFakePem(dir, 'cert.pem'),
        tlsKey: writeFakePem(dir, 'key.pem', 'PRIVATE KEY'),
        tlsServerName: 'wrong.example',
      }),
    );
    assert.equal(run.result, 'Failed');
    assert.match(run.resultMessage ?? '', /valid for buildkitd, not for wrong\.example[^]*Set tlsServerName/);
    assert.equal(builds(records).length, 0);
  });

  it('fails with a timeout message when the daemon never answers the pre-flight check', async () => {
    const d = await daemon({ silent: true });
    const run = await runTask(
      await taskOptions(
        dir,
        records,
        { buildkitAddress: d.address },
        {},
        { 'BuildKitBuild.PreflightTimeoutSeconds': '1' },
      ),
    );
    assert.equal(run.result, 'Failed');
    assert.match(run.resultMessage ?? '', /did not answer within 1 seconds: the daemon may be overloaded/);
    assert.equal(builds(records).length, 0);
  });

  it('fails with the failing Dockerfile step in one error issue at its line, never retrying on another daemon', async () => {
    const [d, other] = [await daemon(), await daemon()];
    const run = await runTask(
      await taskOptions(dir, records, { buildkitAddress: `${d.address}\n${other.address}` }, { failStep: 2 }),
    );
    assert.equal(builds(records).length, 1, 'a build that started is not retried elsewhere');
    assert.equal(run.result, 'Failed');
    const step = '[2/3] RUN make: process "/bin/sh -c make" did not complete successfully: exit code: 2';
    const message = `The build failed: ${step} Nothing reached the registry: r.example/team/app:7, r.example/team/app:latest not pushed.`;
    assert.equal(run.resultMessage, message);
    const issues = run.commands.filter((c) => ['task.logissue', 'task.issue'].includes(c.name));
    assert.deepEqual(
      issues.map((c) => ({ name: c.name, ...c.properties, message: c.message })),
      [
        {
          name: 'task.logissue',
          type: 'error',
          sourcepath: path.join(dir, 'Dockerfile'),
          linenumber: '2',
          message,
        },
      ],
      'the failure is reported once, at the Dockerfile line',
    );
    assert.ok(run.commands.some((c) => c.name === 'task.addattachment'));
  });

  it('on SIGTERM mid-build: buildctl gets the signal, the result is Cancelled, credentials are gone', async () => {
    const d = await daemon();
    const task = startTask(
      await taskOptions(dir, records, { buildkitAddress: d.address }, { slowMs: 60_000 }),
    );
    await task.waitForOutput('#6 [2/3] RUN make');
    task.child.kill('SIGTERM');
    const run = await task.done;
    assert.equal(run.result, 'Cancelled', run.resultMessage);
    const [build] = builds(records);
    assert.equal(build?.signal, 'SIGTERM');
    assert.equal(build.exitCode, 143);
    assert.equal(fs.existsSync(build.env.DOCKER_CONFIG ?? ''), false);
  });
});
