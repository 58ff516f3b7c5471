import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { releasePlatform } from '../../tasks/BuildKitBuild/src/tool/platform';
import { runTask, startTask, type TaskRun, type TaskRunOptions } from '../support/agent';
import { fakeBuildctlDir } from '../support/fakeBuildctl';
import { archiveUrlPath, ReleaseMirror } from '../support/mirror';
import { bundledTaskEntry } from '../support/repo';

/** The release names of the machine running the tests (the task installs for its own platform). */
const here = releasePlatform(process.platform, os.arch());

describe('tool: installing buildctl (black-box, bundled task)', function () {
  let mirror: ReleaseMirror;
  let scratch: string;
  let toolsDir: string;
  let workDir: string;

  before(function () {
    if (here === undefined || process.platform === 'win32') this.skip();
  });
  beforeEach(async () => {
    mirror = await ReleaseMirror.start();
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'bkb-install-'));
    toolsDir = path.join(scratch, 'tools');
    workDir = path.join(scratch, 'work');
    fs.mkdirSync(workDir);
    fs.writeFileSync(path.join(workDir, 'Dockerfile'), 'FROM scratch\n');
  });
  afterEach(async () => {
    await mirror.close();
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  const archivePath = (version: string) => archiveUrlPath(version, here?.os, here?.arch);
  const publish = (version: string, options: { reportsVersion?: string } = {}) =>
    mirror.publish(version, { os: here?.os, arch: here?.arch, ...options });
  const cacheDir = (version: string) => path.join(toolsDir, 'buildkit', version, os.arch());

  async function options(
    inputs: Record<string, string>,
    extra: Partial<TaskRunOptions> = {},
  ): Promise<TaskRunOptions> {
    return {
      entry: await bundledTaskEntry(),
      inputs: {
        repository: 'team/app',
        push: 'false',
        buildkitAddress: 'tcp://127.0.0.1:1',
        buildkitDownloadUrl: mirror.url,
        ...inputs,
      },
      variables: { 'Agent.ToolsDirectory': toolsDir },
      cwd: workDir,
      ...extra,
    };
  }
  const run = async (inputs: Record<string, string>, extra: Partial<TaskRunOptions> = {}) =>
    runTask(await options(inputs, extra));

  const prependedPaths = (r: TaskRun) =>
    r.commands.filter((c) => c.name === 'task.prependpath').map((c) => c.message);
  const failure = (r: TaskRun) =>
    `${r.result ?? '(no result)'}: ${r.resultMessage ?? ''}\n${r.stdout}\n${r.stderr}`;

  function assertInstalled(r: TaskRun, version: string): void {
    const bin = path.join(cacheDir(version), 'bin');
    assert.deepEqual(prependedPaths(r), [bin], failure(r));
    for (const file of ['buildctl', 'buildkitd', 'buildkit-runc']) {
      assert.ok(fs.existsSync(path.join(bin, file)), `${file} in the cache`);
    }
    assert.ok(fs.existsSync(`${cacheDir(version)}.complete`), 'the cache entry is complete');
  }

  function assertNothingCached(version: string, r: TaskRun): void {
    assert.equal(fs.existsSync(`${cacheDir(version)}.complete`), false, failure(r));
    assert.equal(fs.existsSync(path.join(cacheDir(version), 'bin')), false, 'no binaries in the cache');
    assert.deepEqual(prependedPaths(r), []);
  }

  it('downloads on the first run, logs the digest, and uses the cache without a request on the second', async () => {
    const archive = publish('0.32.2');
    const first = await run({ buildctlVersion: '0.32.2' });
    assertInstalled(first, '0.32.2');
    assert.equal(mirror.requestsFor(archive.urlPath), 1);
    assert.ok(first.stdout.includes(`has sha256:${archive.sha256}`), failure(first));
    assert.ok(first.stdout.includes('Installed BuildKit 0.32.2 into the tool cache'), failure(first));

    const second = await run({ buildctlVersion: 'v0.32.2' });
    assertInstalled(second, '0.32.2');
    assert.equal(mirror.requests.length, 1, 'no request on a cache hit');
    assert.ok(second.stdout.includes('Using BuildKit 0.32.2 from the tool cache'), failure(second));
  });

  it('installs the default release when no version is asked for and buildctl is not on PATH', async () => {
    const archive = publish('0.32.2');
    const r = await run({ buildctlVersion: '' });
    assert.ok(r.stdout.includes("using BuildKit 0.32.2, the task's default release"), failure(r));
    assertInstalled(r, '0.32.2');
    assert.equal(mirror.requestsFor(archive.urlPath), 1);
  });

  it('prefers buildctl on PATH when no version is asked for, and logs its version', async () => {
    publish('0.32.2');
    const r = await run(
      { buildctlVersion: '' },
      { pathPrepend: [fakeBuildctlDir], env: { FAKE_BUILDCTL_VERSION: '0.31.1' } },
    );
    assert.ok(
      r.stdout.includes(
        `Using buildctl ${path.join(fakeBuildctlDir, 'buildctl')} from PATH (version 0.31.1).`,
      ),
      failure(r),
    );
    assert.deepEqual(mirror.requests, []);
    assert.deepEqual(prependedPaths(r), []);
  });

  it('ignores buildctl on PATH when a version is asked for', async () => {
    const archive = publish('0.30.0');
    const r = await run({ buildctlVersion: '0.30.0' }, { pathPrepend: [fakeBuildctlDir] });
    assertInstalled(r, '0.30.0');
    assert.equal(mirror.requestsFor(archive.urlPath), 1);
  });

  it('installs an archive whose digest matches the pin, keeps it in the cache, and runs a checked copy', async () => {
    const archive = publish('0.32.2');
    const r = await run({ buildctlVersion: `0.32.2@sha256:${archive.sha256}` });
    assert.ok(r.stdout.includes('Installed BuildKit 0.32.2 into the tool cache'), failure(r));
    for (const file of ['buildctl', 'buildkitd', 'buildkit-runc']) {
      assert.ok(fs.existsSync(path.join(cacheDir('0.32.2'), 'bin', file)), `${file} in the cache`);
    }
    assert.deepEqual(
      fs.readFileSync(path.join(cacheDir('0.32.2'), 'buildkit-release.tar.gz')),
      archive.bytes,
    );
    const [bin] = prependedPaths(r);
    assert.ok(
      bin !== undefined && bin.startsWith(path.join(r.tempDirectory, 'buildkit-pinned-')),
      failure(r),
    );
    for (const file of ['buildctl', 'buildkitd', 'buildkit-runc']) {
      assert.ok(fs.existsSync(path.join(bin, file)), `${file} in the job's checked copy`);
    }
  });

  it('fails on a digest mismatch and caches nothing', async () => {
    const archive = publish('0.32.2');
    const pin = '0'.repeat(64);
    const r = await run({ buildctlVersion: `0.32.2@sha256:${pin}` });
    assert.equal(r.result, 'Failed');
    assert.equal(
      r.resultMessage,
      `The archive downloaded from ${mirror.url}${archive.urlPath} has sha256:${archive.sha256}, but buildctlVersion pins sha256:${pin}; nothing was installed. Check the pinned digest against the release's checksums, or the mirror's copy of the archive.`,
    );
    assertNothingCached('0.32.2', r);
    assert.equal(mirror.requestsFor(archive.urlPath), 1);
  });

  it('fails on a 404 without retrying, naming the URL and the inputs to check', async () => {
    const r = await run({ buildctlVersion: '0.99.0' });
    assert.equal(r.result, 'Failed');
    assert.match(
      r.resultMessage ?? '',
      new RegExp(`There is no BuildKit release archive at ${mirror.url}/v0\\.99\\.0/`),
    );
    assert.match(r.resultMessage ?? '', /buildkitDownloadUrl/);
    assert.equal(mirror.requestsFor(archivePath('0.99.0')), 1);
    assertNothingCached('0.99.0', r);
  });

  it('retries after a 500 and installs', async () => {
    const archive = publish('0.32.2');
    mirror.failNext(archive.urlPath, { status: 500 });
    const r = await run({ buildctlVersion: '0.32.2' });
    assertInstalled(r, '0.32.2');
    assert.equal(mirror.requestsFor(archive.urlPath), 2);
    assert.ok(r.stdout.includes('failed (attempt 1 of 4: HTTP 500); retrying in 1000 ms.'), failure(r));
  });

  it('retries a download cut off mid-way and installs the complete archive', async () => {
    const archive = publish('0.32.2');
    mirror.failNext(archive.urlPath, { truncate: true });
    const r = await run({ buildctlVersion: '0.32.2' });
    assertInstalled(r, '0.32.2');
    assert.equal(mirror.requestsFor(archive.urlPath), 2);
  });

  it('never caches a truncated archive served as if complete', async () => {
    const archive = publish('0.32.2');
    mirror.failNext(archive.urlPath, { short: true });
    const r = await run({ buildctlVersion: '0.32.2' });
    assert.equal(r.result, 'Failed');
    assert.match(r.resultMessage ?? '', /is damaged or not a \.tar\.gz .*nothing was installed/);
    assertNothingCached('0.32.2', r);
  });

  it('refuses an archive whose buildctl reports another version', async () => {
    publish('0.32.2', { reportsVersion: '0.31.0' });
    const r = await run({ buildctlVersion: '0.32.2' });
    assert.equal(r.result, 'Failed');
    assert.match(r.resultMessage ?? '', /it reports version 0\.31\.0 instead of 0\.32\.2/);
    assertNothingCached('0.32.2', r);
  });

  it('lets two jobs install the same release at the same time: one downloads, both succeed', async () => {
    const archive = publish('0.32.2');
    mirror.delayMs = 400;
    const [a, b] = [
      startTask(await options({ buildctlVersion: '0.32.2' })),
      startTask(await options({ buildctlVersion: '0.32.2' })),
    ];
    const runs = await Promise.all([a.done, b.done]);
    for (const r of runs) assertInstalled(r, '0.32.2');
    assert.equal(mirror.requestsFor(archive.urlPath), 1);
    const logs = runs.map((r) => r.stdout).join('\n');
    assert.ok(logs.includes('Installed BuildKit 0.32.2 into the tool cache'));
    assert.ok(logs.includes('Using BuildKit 0.32.2 from the tool cache'));
    assert.equal(fs.existsSync(path.join(toolsDir, 'buildkit', '0.32.2', `${os.arch()}.lock`)), false);
  });

  it('reports an invalid buildctlVersion as an input problem before anything runs', async () => {
    const r = await run({ buildctlVersion: 'latest', buildkitDownloadUrl: 'ftp://mirror' });
    assert.equal(r.result, 'Failed');
    assert.match(r.resultMessage ?? '', /buildctlVersion: 'latest' is not a BuildKit version/);
    assert.match(r.resultMessage ?? '', /buildkitDownloadUrl: 'ftp:\/\/mirror' is not an http\(s\) URL/);
    assert.deepEqual(mirror.requests, []);
  });
});
