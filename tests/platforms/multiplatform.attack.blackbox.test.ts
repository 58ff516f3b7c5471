import * as assert from 'node:assert/strict';
import { runTask, startTask, type TaskRunOptions } from '../support/agent';
import { dockerRegistryConnection } from '../support/connections';
import { createTestPki, type TestPki } from '../support/servers/pki';
import { startRegistry, type FakeRegistry } from '../support/servers/registry';
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

  describe('the merge, against a loopback registry', () => {
    const AMD_WORKERS = [{ id: 'amd', platforms: ['linux/amd64'] }];
    const ARM_WORKERS = [{ id: 'arm', platforms: ['linux/arm64'] }];
    let pki: TestPki;
    let store: string;
    let registry: FakeRegistry | undefined;
    before(() => {
      pki = createTestPki();
    });
    after(() => {
      pki.remove();
    });
    beforeEach(() => {
      store = tempDir('bkb-registry-store-');
    });
    afterEach(async () => {
      await registry?.close();
      registry = undefined;
    });
    const options = async (
      server: FakeRegistry,
      amd: FakeDaemon,
      arm: FakeDaemon,
    ): Promise<TaskRunOptions> => ({
      entry: await bundledTaskEntry(),
      cwd: dir,
      pathPrepend: [fakeBuildctlDir],
      inputs: {
        containerRegistry: 'reg',
        repository: 'team/app',
        tags: '7\nlatest',
        platforms: 'linux/amd64,linux/arm64',
        buildkitAddress: `${amd.address}\n${arm.address}`,
      },
      endpoints: { reg: dockerRegistryConnection(server.origin, 'builder', 'pa55-w0rd') },
      env: {
        NODE_EXTRA_CA_CERTS: pki.caFile,
        FAKE_BUILDCTL_REGISTRY_DIR: store,
        ...fakeBuildctlEnv(records),
      },
      timeoutMs: 80_000,
    });
    const users = { 'builder:pa55-w0rd': { 'team/app': ['pull', 'push'] } };

    it('the index PUT refused for the second tag: the failure says which tag moved to which digest and which did not', async () => {
      registry = await startRegistry(pki, {
        storeDir: store,
        users,
        fault: (r) =>
          r.method === 'PUT' && r.path.endsWith('/manifests/latest')
            ? { status: 400, body: { errors: [{ code: 'TAG_INVALID', message: 'tag is immutable' }] } }
            : undefined,
      });
      const amd = await daemon({ workers: AMD_WORKERS });
      const arm = await daemon({ workers: ARM_WORKERS });
      const task = await runTask(await options(registry, amd, arm));
      assert.equal(task.result, 'Failed', task.stdout);
      const tags = registry.tags();
      const moved = tags['team/app:7'];
      assert.ok(moved !== undefined, JSON.stringify(tags));
      assert.deepEqual(Object.keys(tags), ['team/app:7']);
      const name = `${registry.host}/team/app`;
      const message = task.resultMessage ?? '';
      assert.match(message, /TAG_INVALID: tag is immutable/);
      assert.ok(message.includes(`${name}:7`) && message.includes(moved), message);
      assert.ok(message.includes(`${name}:latest`), message);
      // No index under every tag: the outputs name none.
      assert.equal(task.variables.imageRefWithDigest, undefined);
    });

    it('SIGTERM while the merge waits for a registry that never answers: cancelled at once, no tag', async () => {
      registry = await startRegistry(pki, {
        storeDir: store,
        users,
        fault: (r) =>
          r.method === 'GET' && r.path.includes('/manifests/') ? { status: 0, never: true } : undefined,
      });
      const amd = await daemon({ workers: AMD_WORKERS });
      const arm = await daemon({ workers: ARM_WORKERS });
      const task = startTask(await options(registry, amd, arm));
      await registry.received((r) => r.method === 'GET' && r.path.includes('/manifests/'));
      task.child.kill('SIGTERM');
      const done = await task.done;
      assert.equal(done.result, 'Cancelled', `${done.resultMessage ?? ''}\n${done.stdout}`);
      assert.deepEqual(registry.tags(), {});
      assert.equal(done.variables.imageDigest, undefined);
    });
  });
});
