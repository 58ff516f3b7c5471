import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runTask, type TaskRun } from './support/agent';
import { dockerRegistryConnection } from './support/connections';
import { fakeBuildctlDir, fakeBuildctlEnv } from './support/fakeBuildctl';
import { startFakeDaemon, type FakeDaemon } from './support/fakeDaemon';
import { assertNoLeaks, assertNoStackTrace, freshHome } from './support/leaks';
import { bundledTaskEntry } from './support/repo';
import { secretValue } from './support/servers/loopback';

/**
 * A build secret taken from an environment variable that holds several lines (an .npmrc, a private key):
 * the agent masks line by line and task-lib refuses a multi-line `setsecret`, so the value is registered
 * one line at a time. A RUN step that prints it (by mistake, or a pull request that wants it) shows `***`.
 */
describe('a multi-line build secret from the environment (black-box, bundled task)', function () {
  this.timeout(60_000);
  const HUB = 'HUB-ATTACK';
  const password = secretValue('hub-password');
  const lines = [
    `//npm.example/:_authToken=${secretValue('npm-token')}`,
    `email=${secretValue('mail')}@example.com`,
  ];
  let daemon: FakeDaemon;
  let scratch: string;
  let home: string;

  before(async () => {
    daemon = await startFakeDaemon();
  });
  after(async () => {
    await daemon.close();
  });
  beforeEach(() => {
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'bkb-attack-secrets-'));
    fs.writeFileSync(path.join(scratch, 'Dockerfile'), 'FROM alpine:3.20\nRUN make\n');
    fs.mkdirSync(path.join(scratch, 'records'));
    home = freshHome();
  });
  afterEach(() => {
    for (const dir of [scratch, home]) fs.rmSync(dir, { recursive: true, force: true });
  });

  for (const eol of ['\n', '\r\n']) {
    it(`is masked line by line (${JSON.stringify(eol)} line ends), and the build runs`, async () => {
      const value = `${lines.join(eol)}${eol}`;
      const r: TaskRun = await runTask({
        entry: await bundledTaskEntry(),
        inputs: {
          containerRegistry: HUB,
          repository: 'team/app',
          tags: 'v1',
          buildkitAddress: daemon.address,
          secrets: 'id=npmrc,env=BKB_NPMRC',
        },
        endpoints: { [HUB]: dockerRegistryConnection('https://registry.example/', 'builder', password) },
        env: {
          HOME: home,
          BKB_NPMRC: value,
          ...fakeBuildctlEnv(path.join(scratch, 'records'), {
            runOutput: `cat /run/secrets/npmrc\n${value}`,
          }),
        },
        pathPrepend: [fakeBuildctlDir],
        cwd: scratch,
      });
      const explain = `${r.result ?? '(no result)'}: ${r.resultMessage ?? ''}\n${r.stdout}\n${r.stderr}`;
      assert.equal(r.result, 'Succeeded', explain);
      assert.ok(r.stdout.includes('cat /run/secrets/npmrc'), explain);
      assertNoLeaks(r, [password, ...lines], home);
      assertNoStackTrace(r);
      const registered = r.commands.filter((c) => c.name === 'task.setsecret').map((c) => c.message);
      for (const line of lines) assert.ok(registered.includes(line), `${line.slice(0, 12)}… registered`);
    });
  }
});
