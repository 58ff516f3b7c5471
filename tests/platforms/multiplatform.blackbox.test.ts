import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runTask, startTask, type TaskRun, type TaskRunOptions } from '../support/agent';
import { dockerRegistryConnection } from '../support/connections';
import {
  commandOf,
  fakeBuildctlDir,
  fakeBuildctlEnv,
  flagValue,
  readInvocations,
} from '../support/fakeBuildctl';
import { startFakeDaemon, tempDir, type FakeDaemon, type FakeDaemonOptions } from '../support/fakeDaemon';
import { bundledTaskEntry } from '../support/repo';
import { createTestPki, type TestPki } from '../support/servers/pki';
import { startFakeProxy } from '../support/servers/proxy';
import { startRegistry, type FakeRegistry } from '../support/servers/registry';
import { writeBuildContext } from '../support/buildInputs';

const AMD_WORKERS = [{ id: 'amd', platforms: ['linux/amd64', 'linux/amd64/v2', 'linux/386'] }];
const ARM_WORKERS = [{ id: 'arm', platforms: ['linux/arm64', 'linux/arm/v7', 'linux/arm/v6'] }];

interface Index {
  mediaType: string;
  manifests: {
    digest: string;
    platform?: { os: string; architecture: string; variant?: string };
    annotations?: Record<string, string>;
  }[];
}

describe('native multi-platform builds: the bundled task, fake daemons of two platforms, a loopback registry', function () {
  this.timeout(90_000);
  let pki: TestPki;
  let registry: FakeRegistry;
  let dir: string;
  let records: string;
  let store: string;
  const daemons: FakeDaemon[] = [];

  before(() => {
    pki = createTestPki();
  });
  after(() => {
    pki.remove();
  });
  beforeEach(async () => {
    dir = tempDir();
    records = tempDir();
    store = tempDir('bkb-registry-store-');
    writeBuildContext(dir);
    registry = await startRegistry(pki, {
      storeDir: store,
      users: { 'builder:pa55-w0rd': { 'team/app': ['pull', 'push'] } },
    });
  });
  afterEach(async () => {
    await Promise.all(daemons.splice(0).map((d) => d.close()));
    await registry.close();
  });
  const daemon = async (options: FakeDaemonOptions): Promise<FakeDaemon> => {
    const started = await startFakeDaemon(options);
    daemons.push(started);
    return started;
  };

  const options = async (
    inputs: Record<string, string>,
    password = 'pa55-w0rd',
    variables: Record<string, string> = {},
  ): Promise<TaskRunOptions> => ({
    variables,
    entry: await bundledTaskEntry(),
    cwd: dir,
    pathPrepend: [fakeBuildctlDir],
    inputs: { containerRegistry: 'reg', repository: 'team/app', tags: '7\nlatest', ...inputs },
    endpoints: { reg: dockerRegistryConnection(registry.origin, 'builder', password) },
    env: {
      NODE_EXTRA_CA_CERTS: pki.caFile,
      FAKE_BUILDCTL_REGISTRY_DIR: store,
      ...fakeBuildctlEnv(records),
    },
    timeoutMs: 80_000,
  });
  const run = async (inputs: Record<string, string>, password?: string): Promise<TaskRun> =>
    runTask(await options(inputs, password));
  const builds = () => readInvocations(records).filter((i) => commandOf(i) === 'build');
  const buildOn = (address: string) => builds().filter((b) => flagValue(b.argv, '--addr') === address);
  const optsOf = (argv: readonly string[]): string[] =>
    argv.flatMap((a, i) => (argv[i - 1] === '--opt' ? [a] : []));
  const summaryOf = (task: TaskRun): string => {
    const upload = task.commands.filter((c) => c.name === 'task.addattachment').at(-1);
    assert.ok(upload, 'a summary was uploaded');
    return upload.message;
  };

  it('routes each platform to its native daemon, pushes by digest, merges one index and tags it', async () => {
    const amd = await daemon({ workers: AMD_WORKERS });
    const arm = await daemon({ workers: ARM_WORKERS });
    const task = await run({
      platforms: 'linux/amd64,linux/arm64',
      buildkitAddress: `${amd.address}\n${arm.address}`,
    });
    assert.equal(task.result, 'Succeeded', `${task.resultMessage ?? ''}\n${task.stdout}`);
    const name = `${registry.host}/team/app`;
    for (const [address, platform, slug] of [
      [amd.address, 'linux/amd64', 'linux-amd64'],
      [arm.address, 'linux/arm64', 'linux-arm64'],
    ] as const) {
      const [build, ...more] = buildOn(address);
      assert.ok(build, `a build on ${address}`);
      assert.equal(more.length, 0);
      assert.ok(optsOf(build.argv).includes(`platform=${platform}`), build.argv.join(' '));
      assert.equal(
        flagValue(build.argv, '--output'),
        `type=image,name=${name},push-by-digest=true,push=true`,
      );
      assert.equal(flagValue(build.argv, '--import-cache'), `type=registry,ref=${name}:buildcache-${slug}`);
      assert.equal(
        flagValue(build.argv, '--export-cache'),
        `type=registry,ref=${name}:buildcache-${slug},mode=max,ignore-error=true`,
      );
      assert.match(task.stdout, new RegExp(`^\\[${platform}\\] #6 \\[2/3\\] RUN make$`, 'm'));
    }
    // One token to read every platform's image (parallel reads share it), one to push the index.
    assert.deepEqual(
      registry.issued.map((i) => i.access),
      [['team/app:pull'], ['team/app:pull', 'team/app:push']],
    );
    const tags = registry.tags();
    const digest = task.variables.imageDigest ?? '';
    assert.deepEqual(tags, { 'team/app:7': digest, 'team/app:latest': digest });
    assert.equal(task.variables.imageRefWithDigest, `${name}@${digest}`);
    const index = JSON.parse(registry.manifest(digest) ?? '{}') as Index;
    assert.equal(index.mediaType, 'application/vnd.oci.image.index.v1+json');
    assert.deepEqual(
      index.manifests.map((m) => m.platform),
      [
        { architecture: 'amd64', os: 'linux' },
        { architecture: 'arm64', os: 'linux' },
      ],
    );
    const summary = fs.readFileSync(summaryOf(task), 'utf8');
    assert.match(
      summary,
      new RegExp(
        `\\| \`linux/amd64\` \\| succeeded \\| \`${amd.address}\` \\| native \\| \`sha256:[0-9a-f]{64}\` \\|`,
      ),
    );
    assert.match(
      summary,
      new RegExp(`\\| \`linux/arm64\` \\| succeeded \\| \`${arm.address}\` \\| native \\|`),
    );
    assert.ok(summary.includes(`Image index: \`${digest}\``), summary);
  });

  it('a transient registry failure of one platform push runs that platform again on its daemon, then merges', async () => {
    const amd = await daemon({ workers: AMD_WORKERS });
    const arm = await daemon({ workers: ARM_WORKERS });
    const state = path.join(dir, 'transient-state');
    const base = await options(
      { platforms: 'linux/amd64,linux/arm64', buildkitAddress: `${amd.address}\n${arm.address}` },
      undefined,
      { 'BuildKitBuild.PushRetryDelaySeconds': '0.05' },
    );
    const task = await runTask({
      ...base,
      env: {
        ...base.env,
        ...fakeBuildctlEnv(records, { pushTransient: { kind: '503', times: 1, stateFile: state } }),
      },
    });
    assert.equal(task.result, 'Succeeded', `${task.resultMessage ?? ''}\n${task.stdout}`);
    // One platform's first push failed with 503: that platform ran twice on its own daemon, the other once.
    const counts = [buildOn(amd.address).length, buildOn(arm.address).length].sort();
    assert.deepEqual(counts, [1, 2]);
    assert.match(task.stdout, /^\[linux\/(amd|arm)64\] .*HTTP 503.*attempt 2 of 3 in 0.05 s/m);
    const digest = task.variables.imageDigest ?? '';
    assert.deepEqual(registry.tags(), { 'team/app:7': digest, 'team/app:latest': digest });
    assert.match(fs.readFileSync(summaryOf(task), 'utf8'), /2 attempts, the push retried/);
  });

  it('attestations: each platform pushes an index; the merged one keeps the attestation manifests and their annotations', async () => {
    const amd = await daemon({ workers: AMD_WORKERS });
    const arm = await daemon({ workers: ARM_WORKERS });
    const task = await run({
      platforms: 'linux/arm64,linux/amd64',
      buildkitAddress: `${amd.address}\n${arm.address}`,
      provenance: 'min',
    });
    assert.equal(task.result, 'Succeeded', task.resultMessage);
    const index = JSON.parse(registry.manifest(task.variables.imageDigest ?? '') ?? '{}') as Index;
    const images = index.manifests.filter((m) => m.annotations === undefined);
    const attestations = index.manifests.filter((m) => m.annotations !== undefined);
    assert.deepEqual(
      images.map((m) => m.platform?.architecture),
      ['arm64', 'amd64'],
    );
    assert.deepEqual(
      attestations.map((m) => m.annotations),
      images.map((m) => ({
        'vnd.docker.reference.digest': m.digest,
        'vnd.docker.reference.type': 'attestation-manifest',
      })),
    );
  });

  it('one platform failing stops the other and writes no tag; the failure names platform, daemon and step', async () => {
    const release = path.join(dir, 'release-arm64');
    const amd = await daemon({ workers: AMD_WORKERS, behaviour: { slowMs: 60_000 } });
    const arm = await daemon({ workers: ARM_WORKERS, behaviour: { failStep: 2, holdFile: release } });
    const started = startTask(
      await options({
        platforms: 'linux/amd64,linux/arm64',
        buildkitAddress: `${amd.address}\n${arm.address}`,
      }),
    );
    // The arm64 step fails only once the amd64 build is running, so there is something to stop.
    await started.waitForOutput('[linux/amd64] #6 [2/3] RUN make');
    fs.writeFileSync(release, '');
    const task = await started.done;
    assert.equal(task.result, 'Failed');
    assert.match(
      task.resultMessage ?? '',
      new RegExp(
        `the linux/arm64 build on ${arm.address.replace(/\./g, '\\.')} failed: \\[2/3\\] RUN make: process "/bin/sh -c make" did not complete successfully: exit code: 2`,
      ),
    );
    assert.equal(buildOn(amd.address)[0]?.signal, 'SIGTERM', 'the amd64 build was stopped');
    assert.deepEqual(registry.tags(), {});
    assert.equal(registry.requests.filter((r) => r.method === 'PUT').length, 0);
    assert.equal(task.variables.imageDigest, undefined);
    const summary = fs.readFileSync(summaryOf(task), 'utf8');
    assert.match(summary, /\| `linux\/arm64` \| failed \|/);
    assert.match(summary, /\| `linux\/amd64` \| stopped \|/);
  });

  it('a wrong password: the registry refuses the token, no tag is written, the error names the image', async () => {
    const amd = await daemon({ workers: AMD_WORKERS });
    const arm = await daemon({ workers: ARM_WORKERS });
    const task = await run(
      { platforms: 'linux/amd64,linux/arm64', buildkitAddress: `${amd.address}\n${arm.address}` },
      'not-the-password',
    );
    assert.equal(task.result, 'Failed');
    assert.match(
      task.resultMessage ?? '',
      /the image index for 127\.0\.0\.1:\d+\/team\/app could not be written, so no tag was written or moved: .*HTTP 401/,
    );
    assert.deepEqual(registry.tags(), {});
    const leaks = task.stdout
      .split('\n')
      .filter((l) => l.includes('not-the-password') && !l.startsWith('##vso[task.setsecret]'));
    assert.deepEqual(leaks, [], 'the password appears only in setsecret commands');
  });

  it("reads and writes the registry through the agent's proxy (Agent.ProxyUrl)", async () => {
    const amd = await daemon({ workers: AMD_WORKERS });
    const arm = await daemon({ workers: ARM_WORKERS });
    const proxy = await startFakeProxy();
    try {
      const task = await runTask(
        await options(
          { platforms: 'linux/amd64,linux/arm64', buildkitAddress: `${amd.address}\n${arm.address}` },
          undefined,
          { 'Agent.ProxyUrl': proxy.url },
        ),
      );
      assert.equal(task.result, 'Succeeded', task.resultMessage);
      assert.ok(proxy.tunnels.length > 0, 'the registry was reached through the proxy');
      assert.deepEqual([...new Set(proxy.tunnels.map((t) => t.target))], [registry.host]);
      assert.equal(Object.keys(registry.tags()).length, 2);
    } finally {
      await proxy.close();
    }
  });

  it('push false: every platform built natively, nothing pushed, the summary says no index exists', async () => {
    const amd = await daemon({ workers: AMD_WORKERS });
    const arm = await daemon({ workers: ARM_WORKERS });
    const task = await run({
      platforms: 'linux/amd64,linux/arm64',
      buildkitAddress: `${amd.address}\n${arm.address}`,
      push: 'false',
    });
    assert.equal(task.result, 'Succeeded', task.resultMessage);
    assert.equal(buildOn(amd.address).length, 1);
    assert.equal(buildOn(arm.address).length, 1);
    for (const build of builds()) assert.equal(flagValue(build.argv, '--output'), 'type=image,push=false');
    assert.equal(registry.requests.length, 0);
    assert.equal(task.variables.imageDigest, undefined);
    assert.match(
      fs.readFileSync(summaryOf(task), 'utf8'),
      /push is false: each platform was built and nothing was pushed, so no image index exists/,
    );
  });

  it('a platform no daemon offers native: emulated on one that lists it, with a warning naming both', async () => {
    const amd = await daemon({ workers: AMD_WORKERS });
    const arm = await daemon({ workers: ARM_WORKERS });
    const task = await run({
      platforms: 'linux/amd64,linux/arm64,linux/arm/v7',
      buildkitAddress: `${amd.address}\n${arm.address}`,
    });
    assert.equal(task.result, 'Succeeded', task.resultMessage);
    const warnings = task.commands
      .filter((c) => c.name === 'task.issue' && c.properties.type === 'warning')
      .map((c) => c.message);
    assert.ok(
      warnings.some((w) =>
        w.startsWith(
          `No daemon in buildkitAddress builds linux/arm/v7 natively: it is built on ${arm.address} under emulation`,
        ),
      ),
      warnings.join('\n'),
    );
    assert.equal(buildOn(arm.address).length, 2);
    const summary = fs.readFileSync(summaryOf(task), 'utf8');
    assert.match(summary, /\| `linux\/arm\/v7` \| succeeded \| `[^`]+` \| emulated \|/);
  });

  it('a platform no daemon offers at all fails before any build, naming platforms, buildkitAddress and the offers', async () => {
    const amd = await daemon({ workers: AMD_WORKERS });
    const arm = await daemon({ workers: ARM_WORKERS });
    const task = await run({
      platforms: 'linux/amd64,linux/s390x',
      buildkitAddress: `${amd.address}\n${arm.address}`,
    });
    assert.equal(task.result, 'Failed');
    const message = task.resultMessage ?? '';
    assert.match(message, /^platforms asks for linux\/s390x, which no daemon in buildkitAddress builds/);
    assert.ok(
      message.includes(`${amd.address} (native linux/amd64; workers linux/amd64, linux/amd64/v2, linux/386)`),
      message,
    );
    assert.ok(
      message.includes(
        `${arm.address} (native linux/arm64; workers linux/arm64, linux/arm/v7, linux/arm/v6)`,
      ),
      message,
    );
    assert.equal(builds().length, 0);
  });

  it('platforms named on a buildkitAddress line override the worker list; daemons of one platform keep one build', async () => {
    const first = await daemon({ workers: AMD_WORKERS });
    const second = await daemon({ workers: AMD_WORKERS });
    const single = await run({
      platforms: 'linux/amd64,linux/arm64',
      buildkitAddress: `${first.address}\n${second.address}`,
      push: 'false',
    });
    assert.equal(single.result, 'Succeeded', single.resultMessage);
    const [only, ...more] = builds();
    assert.ok(only);
    assert.equal(more.length, 0);
    assert.ok(optsOf(only.argv).includes('platform=linux/amd64,linux/arm64'));

    fs.rmSync(records, { recursive: true });
    fs.mkdirSync(records);
    const split = await run({
      platforms: 'linux/amd64,linux/arm64',
      buildkitAddress: `${first.address}\n${second.address}   linux/arm64`,
      push: 'false',
    });
    assert.equal(split.result, 'Succeeded', split.resultMessage);
    assert.ok(optsOf(buildOn(second.address)[0]?.argv ?? []).includes('platform=linux/arm64'));
    assert.ok(optsOf(buildOn(first.address)[0]?.argv ?? []).includes('platform=linux/amd64'));
  });

  it('cancellation stops the buildctl of every platform; nothing is tagged', async () => {
    const amd = await daemon({ workers: AMD_WORKERS, behaviour: { slowMs: 60_000 } });
    const arm = await daemon({ workers: ARM_WORKERS, behaviour: { slowMs: 60_000 } });
    const task = startTask(
      await options({
        platforms: 'linux/amd64,linux/arm64',
        buildkitAddress: `${amd.address}\n${arm.address}`,
      }),
    );
    await task.waitForOutput('[linux/amd64] #6 [2/3] RUN make');
    await task.waitForOutput('[linux/arm64] #6 [2/3] RUN make');
    task.child.kill('SIGTERM');
    const done = await task.done;
    assert.equal(done.result, 'Cancelled', done.resultMessage);
    assert.deepEqual(
      builds().map((b) => b.signal),
      ['SIGTERM', 'SIGTERM'],
    );
    assert.deepEqual(registry.tags(), {});
  });
});
