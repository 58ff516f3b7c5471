import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { abortableSleep } from '../../tasks/BuildKitBuild/src/tool/download';
import { withDirectoryLock, type LockOptions } from '../../tasks/BuildKitBuild/src/tool/lock';

describe('tool: install lock', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bkb-lock-'));
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const options = (overrides: Partial<LockOptions> = {}): LockOptions => ({
    pollMs: 5,
    staleMs: 60_000,
    maxWaitMs: 10_000,
    sleep: abortableSleep,
    timedOut: () => new Error('timed out'),
    ...overrides,
  });

  it('lets one holder work at a time and tells the waiter it waits', async () => {
    const lockDir = path.join(dir, 'tool', '1.0.0', 'x64.lock');
    const events: string[] = [];
    let waited = 0;
    const holder = (name: string) => async () => {
      events.push(`${name} in`);
      await new Promise((resolve) => setTimeout(resolve, 30));
      events.push(`${name} out`);
      return name;
    };
    const signal = new AbortController().signal;
    const results = await Promise.all([
      withDirectoryLock(lockDir, holder('a'), options(), signal),
      withDirectoryLock(
        lockDir,
        holder('b'),
        options({
          onWait: () => {
            waited++;
          },
        }),
        signal,
      ),
    ]);
    assert.deepEqual(results, ['a', 'b']);
    assert.deepEqual(events, ['a in', 'a out', 'b in', 'b out']);
    assert.equal(waited, 1);
    assert.equal(fs.existsSync(lockDir), false, 'the lock is released');
  });

  it("keeps a live holder's lock fresh: a waiter does not take it over when staleMs passes", async () => {
    const lockDir = path.join(dir, 'slow.lock');
    const events: string[] = [];
    const signal = new AbortController().signal;
    const holder = (name: string, ms: number) => async () => {
      events.push(`${name} in`);
      await new Promise((resolve) => setTimeout(resolve, ms));
      events.push(`${name} out`);
    };
    const first = withDirectoryLock(lockDir, holder('slow', 900), options({ staleMs: 300 }), signal);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await Promise.all([
      first,
      withDirectoryLock(lockDir, holder('next', 1), options({ staleMs: 300 }), signal),
    ]);
    assert.deepEqual(events, ['slow in', 'slow out', 'next in', 'next out']);
  });

  it('releases the lock when the holder fails', async () => {
    const lockDir = path.join(dir, 'x.lock');
    const signal = new AbortController().signal;
    await assert.rejects(
      withDirectoryLock(lockDir, () => Promise.reject(new Error('boom')), options(), signal),
      /boom/,
    );
    assert.equal(await withDirectoryLock(lockDir, () => Promise.resolve(42), options(), signal), 42);
  });

  it('takes over a lock whose holder died', async () => {
    const lockDir = path.join(dir, 'x.lock');
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
      encoding: 'utf8',
    });
    fs.mkdirSync(lockDir);
    fs.writeFileSync(
      path.join(lockDir, 'owner.json'),
      JSON.stringify({ pid: Number(dead.stdout), host: os.hostname() }),
    );
    const value = await withDirectoryLock(
      lockDir,
      () => Promise.resolve('mine'),
      options(),
      new AbortController().signal,
    );
    assert.equal(value, 'mine');
  });

  it('waits for a live holder and gives up after maxWaitMs', async () => {
    const lockDir = path.join(dir, 'x.lock');
    fs.mkdirSync(lockDir);
    fs.writeFileSync(
      path.join(lockDir, 'owner.json'),
      JSON.stringify({ pid: process.pid, host: os.hostname() }),
    );
    await assert.rejects(
      withDirectoryLock(
        lockDir,
        () => Promise.resolve(1),
        options({ maxWaitMs: 30 }),
        new AbortController().signal,
      ),
      /timed out/,
    );
    assert.ok(fs.existsSync(lockDir), "a live holder's lock is left alone");
  });
});
