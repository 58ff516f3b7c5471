import * as assert from 'node:assert/strict';
import { runTask } from '../support/agent';
import {
  commandOf,
  fakeBuildctlDir,
  fakeBuildctlEnv,
  flagValue,
  readInvocations,
} from '../support/fakeBuildctl';
import { startFakeDaemon, tempDir, type FakeDaemon, type FakeDaemonOptions } from '../support/fakeDaemon';
import { bundledTaskEntry } from '../support/repo';
import { writeBuildContext } from '../support/buildInputs';

describe('native multi-platform builds under attack: the bundled task and fake daemons', function () {
  this.timeout(90_000);
  let dir: string;
  let records: string;
  const daemons: FakeDaemon[] = [];

  beforeEach(() => {
    dir = tempDir();
    records = tempDir();
    writeBuildContext(dir);
  });
  afterEach(async () => {
    await Promise.all(daemons.splice(0).map((d) => d.close()));
  });
  const daemon = async (options: FakeDaemonOptions): Promise<FakeDaemon> => {
    const started = await startFakeDaemon(options);
    daemons.push(started);
    return started;
  };
  const builds = () => readInvocations(records).filter((i) => commandOf(i) === 'build');

  it('a daemon whose worker list is empty is skipped with a warning naming it; the other builds both platforms', async () => {
    const amd = await daemon({ workers: [{ id: 'amd', platforms: ['linux/amd64', 'linux/arm64'] }] });
    const empty = await daemon({ workers: [] });
    const task = await runTask({
      entry: await bundledTaskEntry(),
      cwd: dir,
      pathPrepend: [fakeBuildctlDir],
      inputs: {
        repository: 'team/app',
        push: 'false',
        platforms: 'linux/amd64,linux/arm64',
        buildkitAddress: `${empty.address}\n${amd.address}`,
      },
      env: fakeBuildctlEnv(records),
      timeoutMs: 80_000,
    });
    assert.equal(task.result, 'Succeeded', `${task.resultMessage ?? ''}\n${task.stdout}`);
    const warnings = task.commands.filter((c) => c.name === 'task.issue' && c.properties.type === 'warning');
    assert.ok(
      warnings.some((w) => w.message.includes(empty.address) && /no worker/i.test(w.message)),
      `${warnings.map((w) => w.message).join('\n')}\n${task.stdout}`,
    );
    const all = builds();
    assert.equal(all.length, 1, all.map((b) => b.argv.join(' ')).join('\n'));
    assert.equal(flagValue(all[0]?.argv ?? [], '--addr'), amd.address);
  });
});
