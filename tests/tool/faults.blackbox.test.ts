import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { releasePlatform } from '../../tasks/BuildKitBuild/src/tool/platform';
import { runTask, startTask, type TaskRun, type TaskRunOptions } from '../support/agent';
import { buildReleaseArchive, ReleaseMirror } from '../support/mirror';
import { outputOutsideSetSecret } from '../support/leaks';
import { bundledTaskEntry } from '../support/repo';

/**
 * The installer's fault classes, black-box against the bundled task and the loopback release mirror: locks
 * left by jobs that died or live elsewhere, a tool cache changed after a pinned install, mirror URLs that
 * carry a SAS token, and tool cache or temporary directories that are full or read-only (made real with a
 * tmpfs in a mount namespace of the task's own, where the machine allows one).
 */

const here = releasePlatform(process.platform, os.arch());
/** A pid above Linux's largest pid_max (2^22): no process anywhere has it. */
const NO_SUCH_PID = 2 ** 22 + 1;
/** An Azure Blob SAS token, its signature percent-encoded as Azure writes it. */
const SAS_SIGNATURE = 'Zq8yT3xV1k4s%2Fn0tR3al%2BSig%3D';
const SAS = `sv=2022-11-02&ss=b&srt=co&sp=rl&se=2027-01-01T00%3A00%3A00Z&sig=${SAS_SIGNATURE}`;

const shellQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** True when this process may give a child a mount namespace of its own and mount a tmpfs in it. */
function canMountTmpfs(): boolean {
  if (process.platform !== 'linux') return false;
  const probe = spawnSync('unshare', ['--mount', 'sh', '-c', 'mount -t tmpfs -o size=64k tmpfs /mnt'], {
    stdio: 'ignore',
  });
  return probe.status === 0;
}

describe('install faults (black-box, bundled task)', function () {
  let mirror: ReleaseMirror;
  let scratch: string;
  let toolsDir: string;
  let workDir: string;

  before(function () {
    if (here === undefined || process.platform === 'win32') this.skip();
  });
  beforeEach(async () => {
    mirror = await ReleaseMirror.start();
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'bkb-install-faults-'));
    toolsDir = path.join(scratch, 'tools');
    workDir = path.join(scratch, 'work');
    fs.mkdirSync(workDir);
    fs.writeFileSync(path.join(workDir, 'Dockerfile'), 'FROM scratch\n');
  });
  afterEach(async () => {
    await mirror.close();
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  const publish = (version: string) => mirror.publish(version, { os: here?.os, arch: here?.arch });
  const cacheDir = (version: string) => path.join(toolsDir, 'buildkit', version, os.arch());
  const lockDir = (version: string) => `${cacheDir(version)}.lock`;

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
  const installedHere = (r: TaskRun, version: string) => {
    assert.deepEqual(prependedPaths(r), [path.join(cacheDir(version), 'bin')], failure(r));
    assert.ok(r.stdout.includes(`Installed BuildKit ${version} into the tool cache`), failure(r));
  };

  /** A lock as another job leaves it: its owner record as given, its refresh time `ageMs` ago. */
  function foreignLock(version: string, owner: string, ageMs: number): string {
    const lock = lockDir(version);
    fs.mkdirSync(lock, { recursive: true });
    const ownerFile = path.join(lock, 'owner.json');
    fs.writeFileSync(ownerFile, owner);
    const then = new Date(Date.now() - ageMs);
    fs.utimesSync(ownerFile, then, then);
    fs.utimesSync(lock, then, then);
    return lock;
  }

  describe('locks left by other jobs', () => {
    it('takes over a lock whose owner record is empty (a job that hit a full disk) after minutes, not 15', async () => {
      publish('0.32.2');
      foreignLock('0.32.2', '', 2 * 60_000);
      const r = await run({ buildctlVersion: '0.32.2' }, { timeoutMs: 20_000 });
      installedHere(r, '0.32.2');
      assert.equal(fs.existsSync(lockDir('0.32.2')), false, 'the lock is released');
    });

    it('takes over a dead job whose pid now belongs to a live process once its refresh is stale', async () => {
      publish('0.32.2');
      // process.pid: alive on this host, as a reused pid would be.
      foreignLock(
        '0.32.2',
        JSON.stringify({ token: randomUUID(), pid: process.pid, host: os.hostname() }),
        2 * 60_000,
      );
      const r = await run({ buildctlVersion: '0.32.2' }, { timeoutMs: 20_000 });
      installedHere(r, '0.32.2');
    });

    it('waits for a live job in another pid namespace (a pid unknown here), then installs', async () => {
      const archive = publish('0.32.2');
      const token = randomUUID();
      const lock = foreignLock('0.32.2', JSON.stringify({ token, pid: NO_SUCH_PID, host: os.hostname() }), 0);
      // The other job refreshes its lock as a live holder does.
      const refresh = setInterval(() => {
        const now = new Date();
        fs.utimesSync(path.join(lock, 'owner.json'), now, now);
      }, 1000);
      try {
        const task = startTask(await options({ buildctlVersion: '0.32.2' }));
        await task.waitForOutput('Another job on this agent is installing BuildKit 0.32.2');
        assert.equal(mirror.requestsFor(archive.urlPath), 0, 'downloaded while the other job held the lock');
        assert.ok(fs.readFileSync(path.join(lock, 'owner.json'), 'utf8').includes(token), 'lock taken over');
        clearInterval(refresh);
        fs.rmSync(lock, { recursive: true });
        const r = await task.done;
        installedHere(r, '0.32.2');
      } finally {
        clearInterval(refresh);
      }
    });
  });

  describe('a pinned release whose cached copy was changed after the install', () => {
    /** Executables that leave a mark when anything runs them. */
    function plant(file: string, marker: string): void {
      fs.writeFileSync(file, `#!/bin/sh\necho ran >> ${shellQuote(marker)}\nexit 0\n`, { mode: 0o755 });
    }

    it('never runs replaced bin/buildctl or bin/buildkitd: it runs a copy checked against the pin', async () => {
      const archive = publish('0.11.6');
      const pin = `0.11.6@sha256:${archive.sha256}`;
      const first = await run({ buildctlVersion: pin });
      assert.ok(first.stdout.includes('Installed BuildKit 0.11.6 into the tool cache'), failure(first));
      const marker = path.join(scratch, 'planted-binaries-ran');
      for (const name of ['buildctl', 'buildkitd', 'buildkit-runc']) {
        plant(path.join(cacheDir('0.11.6'), 'bin', name), marker);
      }

      const second = await run({ buildctlVersion: pin });
      assert.equal(fs.existsSync(marker), false, `a planted binary ran\n${failure(second)}`);
      assert.equal(mirror.requests.length, 1, 'the archive came from the cache');
      const [bin] = prependedPaths(second);
      assert.ok(bin !== undefined && !bin.startsWith(toolsDir), failure(second));
      assert.ok(bin.startsWith(second.tempDirectory), `${bin} is not private to the job`);
      assert.ok(
        second.stdout.includes(`checked against the pinned sha256:${archive.sha256}`),
        failure(second),
      );
    });

    it('refuses a cached archive that is not the pinned one, with what to do, and runs nothing', async () => {
      const archive = publish('0.11.6');
      const pin = `0.11.6@sha256:${archive.sha256}`;
      await run({ buildctlVersion: pin });
      const marker = path.join(scratch, 'planted-binaries-ran');
      // Another archive than the pinned one (here: without bin/buildctl).
      const evil = buildReleaseArchive('0.11.6', { withoutBuildctl: true });
      fs.writeFileSync(path.join(cacheDir('0.11.6'), 'buildkit-release.tar.gz'), evil);
      plant(path.join(cacheDir('0.11.6'), 'bin', 'buildctl'), marker);

      const r = await run({ buildctlVersion: pin });
      assert.equal(r.result, 'Failed', failure(r));
      assert.match(
        r.resultMessage ?? '',
        new RegExp(
          `^The tool cache holds BuildKit 0\\.11\\.6 from an archive with sha256:[0-9a-f]{64}, but buildctlVersion pins sha256:${archive.sha256}\\. .*remove ${cacheDir('0.11.6').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} from the tool cache`,
        ),
      );
      assert.equal(fs.existsSync(marker), false, 'a planted binary ran');
      assert.deepEqual(prependedPaths(r), []);
    });
  });

  describe('a mirror URL with a SAS token', () => {
    /**
     * No line shows the signature, debug lines included: the inputs are read without task-lib's debug echo
     * of each value (`##vso[task.debug]buildkitDownloadUrl=…`), which would show it in every debug run. The
     * one place it may appear is the `##vso[task.setsecret]` that asks the agent to mask it.
     */
    const assertNoSignature = (r: TaskRun) => {
      const lines = outputOutsideSetSecret(r).split('\n');
      for (const secret of [SAS_SIGNATURE, decodeURIComponent(SAS_SIGNATURE), 'Zq8yT3xV1k4s']) {
        const leaks = lines.filter((line) => line.includes(secret));
        assert.deepEqual(leaks, [], `the signature leaked:\n${failure(r)}`);
      }
    };

    it('downloads from <path>/v<version>/…?<token> and logs the URL with its values redacted', async () => {
      const archive = publish('0.32.2');
      mirror.requiredQuery = SAS;
      mirror.failNext(archive.urlPath, { status: 500 });
      const r = await run(
        { buildctlVersion: '0.32.2', buildkitDownloadUrl: `${mirror.url}/?${SAS}` },
        { variables: { 'Agent.ToolsDirectory': toolsDir, 'System.Debug': 'true' } },
      );
      installedHere(r, '0.32.2');
      assert.ok(r.stdout.includes('##vso[task.debug]'), 'a debug run writes debug lines');
      assert.equal(mirror.requestsFor(archive.urlPath), 2);
      const shown = `${mirror.url}${archive.urlPath}?sv=***&ss=***&srt=***&sp=***&se=***&sig=***`;
      assert.ok(r.stdout.includes(`Downloading BuildKit 0.32.2 from ${shown}`), failure(r));
      assert.ok(r.stdout.includes(`Downloading ${shown} failed (attempt 1 of 4: HTTP 500)`), failure(r));
      assertNoSignature(r);
    });

    for (const [name, prepare, expected] of [
      ['a release the mirror lacks', () => undefined, /^There is no BuildKit release archive at /],
      [
        'a token the mirror refuses',
        () => {
          mirror.requiredQuery = 'sig=another';
        },
        /failed after 1 attempt\(s\) with HTTP 403/,
      ],
    ] as const) {
      it(`redacts the token in the failure message for ${name}`, async () => {
        if (name !== 'a release the mirror lacks') publish('0.32.2');
        prepare();
        const r = await run(
          { buildctlVersion: '0.32.2', buildkitDownloadUrl: `${mirror.url}?${SAS}` },
          { variables: { 'Agent.ToolsDirectory': toolsDir, 'System.Debug': 'true' } },
        );
        assert.equal(r.result, 'Failed', failure(r));
        assert.match(r.resultMessage ?? '', expected);
        assert.ok((r.resultMessage ?? '').includes('?sv=***&ss=***'), failure(r));
        assertNoSignature(r);
      });
    }

    it('redacts the token of an invalid URL in the input problem', async () => {
      const r = await run(
        { buildctlVersion: '0.32.2', buildkitDownloadUrl: `ftp://mirror.example/bk?${SAS}` },
        { variables: { 'Agent.ToolsDirectory': toolsDir, 'System.Debug': 'true' } },
      );
      assert.equal(r.result, 'Failed', failure(r));
      assert.match(r.resultMessage ?? '', /buildkitDownloadUrl: 'ftp:\/\/mirror\.example\/bk\?sv=\*\*\*/);
      assertNoSignature(r);
      assert.deepEqual(mirror.requests, []);
    });
  });

  describe('a full or read-only disk', function () {
    before(function () {
      if (!canMountTmpfs()) this.skip();
    });

    /**
     * Runs the task in a mount namespace of its own where `dir` is a small tmpfs, first full (or all but one
     * page, or read-only), then, for a second job in the same namespace, emptied (or writable): the two runs'
     * outputs are split.
     */
    async function runOnTmpfs(
      dir: string,
      mode: 'full' | 'onePageLeft' | 'readOnly',
      inputs: Record<string, string>,
      variables: Record<string, string> = {},
    ): Promise<{ first: TaskRun; secondStdout: string }> {
      fs.mkdirSync(dir, { recursive: true });
      const q = shellQuote(dir);
      // 256 KiB; filled whole, or but one page (task-lib writes its vault key into the temp directory).
      const fill = mode === 'full' ? 1024 * 1024 : 252 * 1024;
      const prepare =
        mode === 'readOnly'
          ? `mount -t tmpfs -o ro,size=256k tmpfs ${q}`
          : `mount -t tmpfs -o size=256k tmpfs ${q} && { head -c ${fill} /dev/zero > ${q}/filler 2>/dev/null; true; }`;
      const recover = mode === 'readOnly' ? `mount -o remount,rw ${q}` : `rm -f ${q}/filler`;
      const script = [
        `${prepare} || exit 90`,
        '"$BKB_NODE" "$BKB_ENTRY"',
        'echo "=== second job"',
        recover,
        '"$BKB_NODE" "$BKB_ENTRY"',
      ].join('\n');
      const r = await run(inputs, {
        launcher: { command: 'unshare', args: ['--mount', 'sh', '-c', script] },
        variables: { 'Agent.ToolsDirectory': toolsDir, ...variables },
        timeoutMs: 40_000,
      });
      assert.notEqual(r.exitCode, 90, `could not prepare the tmpfs\n${r.stderr}`);
      const [before = '', after = ''] = r.stdout.split('=== second job\n');
      const complete = /##vso\[task\.complete result=(\w+);\](.*)$/m.exec(before);
      return {
        first: {
          ...r,
          stdout: before,
          result: complete?.[1],
          resultMessage: complete?.[2]?.replace(/%0A/g, '\n'),
        },
        secondStdout: after,
      };
    }

    it('a full tool cache names the directory, leaves no lock, and the next job installs at once', async () => {
      publish('0.32.2');
      const { first, secondStdout } = await runOnTmpfs(toolsDir, 'full', { buildctlVersion: '0.32.2' });
      assert.equal(first.result, 'Failed', failure(first));
      assert.equal(
        first.resultMessage?.split(' failed (')[0],
        `No space is left in the agent's tool cache: writing to ${lockDir('0.32.2')}`,
      );
      assert.match(first.resultMessage, /Free space on that disk/);
      assert.ok(!secondStdout.includes('Another job on this agent is installing'), secondStdout);
      assert.ok(secondStdout.includes('Installed BuildKit 0.32.2 into the tool cache'), secondStdout);
    });

    it('a full temporary directory names it and is not retried as a network error', async () => {
      const archive = publish('0.32.2');
      const tempDir = path.join(scratch, 'agent-temp');
      const { first, secondStdout } = await runOnTmpfs(
        tempDir,
        'onePageLeft',
        { buildctlVersion: '0.32.2' },
        { 'Agent.TempDirectory': tempDir },
      );
      assert.equal(first.result, 'Failed', failure(first));
      assert.match(
        first.resultMessage ?? '',
        new RegExp(
          `^No space is left in the agent's temporary directory: writing to ${tempDir}/buildkit-\\w+ failed \\(`,
        ),
        failure(first),
      );
      assert.ok(!first.stdout.includes('retrying'), failure(first));
      assert.equal(mirror.requestsFor(archive.urlPath), 2, 'one request per job');
      assert.ok(secondStdout.includes('Installed BuildKit 0.32.2 into the tool cache'), secondStdout);
    });

    it('a read-only tool cache names the directory and what to do', async () => {
      publish('0.32.2');
      const { first, secondStdout } = await runOnTmpfs(toolsDir, 'readOnly', { buildctlVersion: '0.32.2' });
      assert.equal(first.result, 'Failed', failure(first));
      assert.match(
        first.resultMessage ?? '',
        /^The agent's tool cache cannot be written: .*\. Make Agent\.ToolsDirectory writable by the agent's user/,
      );
      assert.ok(first.resultMessage?.includes(toolsDir), failure(first));
      assert.ok(secondStdout.includes('Installed BuildKit 0.32.2 into the tool cache'), secondStdout);
    });
  });
});
