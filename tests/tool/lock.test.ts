import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as sinon from 'sinon';
// The module object itself (not a namespace copy), so that a stub reaches lock.ts.
import fsModule from 'node:fs';
import { abortableSleep } from '../../tasks/BuildKitBuild/src/tool/download';
import {
  DEFAULT_LOCK_TIMING,
  staleAfterMs,
  withDirectoryLock,
  type LockOptions,
} from '../../tasks/BuildKitBuild/src/tool/lock';
import { WriteError } from '../../tasks/BuildKitBuild/src/tool/writeError';

/** A pid above Linux's largest pid_max (2^22): no process anywhere has it. */
const NO_SUCH_PID = 2 ** 22 + 1;

/** A promise with its resolve function, to end a holder's work when the test says so. */
function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve: (value: T) => void = () => undefined;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** Tracks whether a promise has settled, without awaiting it. */
function track<T>(promise: Promise<T>): { settled: () => boolean; promise: Promise<T> } {
  let settled = false;
  const tracked = promise.finally(() => {
    settled = true;
  });
  // The outcome is asserted later; an early rejection must not count as unhandled meanwhile.
  tracked.catch(() => undefined);
  return { settled: () => settled, promise: tracked };
}

describe('tool: install lock', () => {
  let dir: string;
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bkb-lock-'));
    // The clock starts at the real time: the file system's times and the lock's clock must agree.
    clock = sinon.useFakeTimers({
      now: Date.now(),
      toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'],
    });
  });
  afterEach(() => {
    clock.restore();
    sinon.restore();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const options = (overrides: Partial<LockOptions> = {}): LockOptions => ({
    ...DEFAULT_LOCK_TIMING,
    sleep: abortableSleep,
    timedOut: () => new Error('timed out'),
    ...overrides,
  });
  const signal = new AbortController().signal;
  const staleMs = staleAfterMs(DEFAULT_LOCK_TIMING);
  const lockDir = () => path.join(dir, 'tool', '1.0.0', 'x64.lock');

  /** A lock left by someone else: its owner record as given (text as it is, an object as JSON). */
  function foreignLock(owner: string | Record<string, unknown>): string {
    const lock = lockDir();
    fs.mkdirSync(lock, { recursive: true });
    fs.writeFileSync(
      path.join(lock, 'owner.json'),
      typeof owner === 'string' ? owner : JSON.stringify(owner),
    );
    return lock;
  }

  /** Another job holding the lock: it refreshes the lock as a live holder does, until it stops. */
  function refreshing(lock: string): () => void {
    const timer = setInterval(() => {
      const now = new Date();
      fs.utimesSync(path.join(lock, 'owner.json'), now, now);
      fs.utimesSync(lock, now, now);
    }, DEFAULT_LOCK_TIMING.refreshMs);
    return () => {
      clearInterval(timer);
    };
  }

  it('derives the abandonment bound from the refresh interval, far below 15 minutes', () => {
    assert.equal(staleMs, DEFAULT_LOCK_TIMING.refreshMs * 6);
    assert.ok(staleMs <= 2 * 60_000, `${staleMs} ms`);
  });

  it('lets one holder work at a time and tells the waiter it waits', async () => {
    const events: string[] = [];
    let waited = 0;
    const releaseA = deferred();
    const a = track(
      withDirectoryLock(
        lockDir(),
        async () => {
          events.push('a in');
          await releaseA.promise;
          events.push('a out');
          return 'a';
        },
        options(),
        signal,
      ),
    );
    const b = track(
      withDirectoryLock(
        lockDir(),
        () => {
          events.push('b in');
          return Promise.resolve('b');
        },
        options({
          onWait: () => {
            waited++;
          },
        }),
        signal,
      ),
    );
    await clock.tickAsync(DEFAULT_LOCK_TIMING.pollMs * 4);
    assert.deepEqual(events, ['a in']);
    assert.equal(waited, 1);
    releaseA.resolve();
    await clock.tickAsync(DEFAULT_LOCK_TIMING.pollMs);
    assert.deepEqual(await Promise.all([a.promise, b.promise]), ['a', 'b']);
    assert.deepEqual(events, ['a in', 'a out', 'b in']);
    assert.equal(fs.existsSync(lockDir()), false, 'the lock is released');
  });

  it("keeps a live holder's lock fresh: a waiter never takes it over, however long the work", async () => {
    const work = deferred();
    const events: string[] = [];
    const first = track(
      withDirectoryLock(
        lockDir(),
        async () => {
          events.push('slow in');
          await work.promise;
          events.push('slow out');
        },
        options(),
        signal,
      ),
    );
    const next = track(
      withDirectoryLock(
        lockDir(),
        () => {
          events.push('next in');
          return Promise.resolve();
        },
        options(),
        signal,
      ),
    );
    await clock.tickAsync(staleMs * 10);
    assert.deepEqual(events, ['slow in']);
    work.resolve();
    await clock.tickAsync(DEFAULT_LOCK_TIMING.pollMs);
    await Promise.all([first.promise, next.promise]);
    assert.deepEqual(events, ['slow in', 'slow out', 'next in']);
  });

  it('never breaks a live holder whose pid means nothing here (another pid namespace)', async () => {
    const lock = foreignLock({ token: 'other-job', pid: NO_SUCH_PID, host: os.hostname() });
    const stopRefreshing = refreshing(lock);
    let ran = false;
    const waiter = track(
      withDirectoryLock(
        lock,
        () => {
          ran = true;
          return Promise.resolve();
        },
        options(),
        signal,
      ),
    );
    await clock.tickAsync(staleMs * 10);
    assert.equal(ran, false, 'the waiter took a live lock over');
    assert.match(fs.readFileSync(path.join(lock, 'owner.json'), 'utf8'), /other-job/);
    stopRefreshing();
    fs.rmSync(lock, { recursive: true });
    await clock.tickAsync(DEFAULT_LOCK_TIMING.pollMs);
    await waiter.promise;
    assert.equal(ran, true);
  });

  it('takes over a holder that stopped refreshing once the bound passes, though its pid is alive', async () => {
    // The holder died; its pid now belongs to a live process (here: this one).
    const lock = foreignLock({ token: 'dead-job', pid: process.pid, host: os.hostname() });
    const waiter = track(withDirectoryLock(lock, () => Promise.resolve('mine'), options(), signal));
    await clock.tickAsync(staleMs - 2 * DEFAULT_LOCK_TIMING.pollMs);
    assert.equal(waiter.settled(), false, 'taken over before the bound');
    await clock.tickAsync(4 * DEFAULT_LOCK_TIMING.pollMs);
    assert.equal(waiter.settled(), true, 'not taken over after the bound');
    assert.equal(await waiter.promise, 'mine');
  });

  for (const [name, record] of [
    ['empty (a full disk)', ''],
    ['not JSON', '{"pid": 12'],
  ] as const) {
    it(`judges a lock whose owner record is ${name} by its refresh time alone`, async () => {
      const lock = foreignLock(record);
      const waiter = track(withDirectoryLock(lock, () => Promise.resolve('mine'), options(), signal));
      await clock.tickAsync(staleMs - 2 * DEFAULT_LOCK_TIMING.pollMs);
      assert.equal(waiter.settled(), false);
      await clock.tickAsync(4 * DEFAULT_LOCK_TIMING.pollMs);
      assert.equal(await waiter.promise, 'mine');
    });
  }

  it('judges a lock without an owner record (its holder died right after mkdir) the same way', async () => {
    fs.mkdirSync(lockDir(), { recursive: true });
    const waiter = track(withDirectoryLock(lockDir(), () => Promise.resolve('mine'), options(), signal));
    await clock.tickAsync(staleMs - 2 * DEFAULT_LOCK_TIMING.pollMs);
    assert.equal(waiter.settled(), false);
    await clock.tickAsync(4 * DEFAULT_LOCK_TIMING.pollMs);
    assert.equal(await waiter.promise, 'mine');
  });

  it('takes a lock whose refresh time is older than the bound at once', async () => {
    const lock = foreignLock('');
    const old = new Date(Date.now() - 2 * staleMs);
    fs.utimesSync(path.join(lock, 'owner.json'), old, old);
    fs.utimesSync(lock, old, old);
    let waited = false;
    const value = await withDirectoryLock(
      lock,
      () => Promise.resolve('mine'),
      options({
        onWait: () => {
          waited = true;
        },
      }),
      signal,
    );
    assert.equal(value, 'mine');
    assert.equal(waited, false);
  });

  it('releases the lock when the holder fails', async () => {
    await assert.rejects(
      withDirectoryLock(lockDir(), () => Promise.reject(new Error('boom')), options(), signal),
      /boom/,
    );
    assert.equal(fs.existsSync(lockDir()), false);
    assert.equal(await withDirectoryLock(lockDir(), () => Promise.resolve(42), options(), signal), 42);
  });

  it('leaves a lock that another holder took over to that holder', async () => {
    const value = await withDirectoryLock(
      lockDir(),
      () => {
        // Another job broke this lock and took it.
        fs.writeFileSync(
          path.join(lockDir(), 'owner.json'),
          JSON.stringify({ token: 'other-job', pid: NO_SUCH_PID, host: os.hostname() }),
        );
        return Promise.resolve('done');
      },
      options(),
      signal,
    );
    assert.equal(value, 'done');
    assert.match(fs.readFileSync(path.join(lockDir(), 'owner.json'), 'utf8'), /other-job/);
  });

  it('removes a lock whose owner record cannot be written, and names the directory', async () => {
    const full = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    const write = sinon.stub(fsModule, 'writeFileSync').throws(full);
    const failure = await withDirectoryLock(lockDir(), () => Promise.resolve(1), options(), signal).then(
      () => undefined,
      (error: unknown) => error,
    );
    write.restore();
    assert.ok(failure instanceof WriteError, String(failure));
    assert.equal(failure.dir, lockDir());
    assert.equal(failure.problem, 'full');
    assert.equal(fs.existsSync(lockDir()), false, 'no lock without an owner is left behind');
  });

  it('waits for a live holder and gives up after maxWaitMs', async () => {
    const lock = foreignLock({ token: 'other-job', pid: process.pid, host: os.hostname() });
    const stopRefreshing = refreshing(lock);
    const waiter = track(withDirectoryLock(lock, () => Promise.resolve(1), options(), signal));
    await clock.tickAsync(DEFAULT_LOCK_TIMING.maxWaitMs + DEFAULT_LOCK_TIMING.pollMs * 2);
    stopRefreshing();
    await assert.rejects(waiter.promise, /timed out/);
    assert.ok(fs.existsSync(lock), "a live holder's lock is left alone");
  });
});
