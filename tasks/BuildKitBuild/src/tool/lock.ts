import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { throwIfCancelled } from '../core/cancellation';
import { asWriteError } from './writeError';

/**
 * Who holds a lock: written inside the lock directory by its holder. The token tells holders apart; pid
 * and host are for people reading the file. Neither pid nor host says whether the holder lives: a job in
 * another pid namespace (a container on the same host) has pids of its own, and a dead holder's pid may be
 * reused. Liveness is the refresh time alone.
 */
interface LockOwner {
  readonly token: string;
  readonly pid: number;
  readonly host: string;
}

export interface LockOptions {
  /** Wait between two tries to take a busy lock. */
  readonly pollMs: number;
  /**
   * How often a holder refreshes its lock while it works. A lock whose refresh time has stood still for
   * STALE_AFTER_REFRESHES of these is abandoned, whoever holds it and whatever its owner record says.
   */
  readonly refreshMs: number;
  /** Give up waiting after this long. */
  readonly maxWaitMs: number;
  sleep(ms: number, signal: AbortSignal): Promise<void>;
  /** Called once when the lock is busy and the caller starts waiting. */
  onWait?(): void;
  /** The error thrown after waiting `maxWaitMs` in vain. */
  timedOut(): Error;
}

/**
 * Refreshes a lock may miss before it counts as abandoned: room for a holder whose event loop is busy for a
 * while (copying the release into the cache is synchronous) and for file systems that cache attributes.
 */
export const STALE_AFTER_REFRESHES = 6;

/** How long a lock's refresh time may stand still before the lock counts as abandoned. */
export function staleAfterMs(options: Pick<LockOptions, 'refreshMs'>): number {
  return options.refreshMs * STALE_AFTER_REFRESHES;
}

export const DEFAULT_LOCK_TIMING: Pick<LockOptions, 'pollMs' | 'refreshMs' | 'maxWaitMs'> = {
  pollMs: 250,
  refreshMs: 10_000,
  maxWaitMs: 20 * 60_000,
};

const OWNER_FILE = 'owner.json';

function readOwner(lockDir: string): LockOwner | undefined {
  try {
    const owner = JSON.parse(fs.readFileSync(path.join(lockDir, OWNER_FILE), 'utf8')) as Partial<LockOwner>;
    return typeof owner.token === 'string' && typeof owner.pid === 'number' && typeof owner.host === 'string'
      ? { token: owner.token, pid: owner.pid, host: owner.host }
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The lock's refresh time as the file system holds it: the owner record's modification time (opening the
 * file revalidates cached attributes on network file systems), else the directory's (a holder that died
 * before writing its record, or whose record is empty). Undefined when the lock is gone.
 */
function refreshTimeMs(lockDir: string): number | undefined {
  let dirTimeMs: number;
  try {
    dirTimeMs = fs.statSync(lockDir).mtimeMs;
  } catch {
    return undefined;
  }
  let fd: number | undefined;
  try {
    fd = fs.openSync(path.join(lockDir, OWNER_FILE), 'r');
    return Math.max(dirTimeMs, fs.fstatSync(fd).mtimeMs);
  } catch {
    return dirTimeMs;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/**
 * A waiter's view of a busy lock. The lock is abandoned when its refresh time is older than the bound by
 * this machine's clock, or when this waiter has seen it stand still for that long by its own clock (a
 * holder on a machine whose clock runs ahead). Nothing else counts: not the owner record, not the pid.
 */
class Staleness {
  private seen: number | undefined;
  private seenSince = 0;

  constructor(private readonly staleMs: number) {}

  isStale(lockDir: string): boolean {
    const refreshed = refreshTimeMs(lockDir);
    if (refreshed === undefined) return false;
    const now = Date.now();
    if (refreshed !== this.seen) {
      this.seen = refreshed;
      this.seenSince = now;
    }
    return now - refreshed >= this.staleMs || now - this.seenSince >= this.staleMs;
  }
}

/**
 * Takes the lock when free (mkdir is atomic); false when someone else holds it. A lock whose owner record
 * cannot be written (a full disk) is removed again before the error is thrown: it never outlives the try.
 */
function tryAcquire(lockDir: string, owner: LockOwner): boolean {
  try {
    fs.mkdirSync(lockDir);
  } catch (error: unknown) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw asWriteError(error, path.dirname(lockDir)) ?? error;
  }
  try {
    fs.writeFileSync(path.join(lockDir, OWNER_FILE), JSON.stringify(owner));
  } catch (error: unknown) {
    fs.rmSync(lockDir, { recursive: true, force: true });
    throw asWriteError(error, lockDir) ?? error;
  }
  return true;
}

/**
 * What identifies one holding of a lock: its owner record's text and time. Moving the lock directory aside
 * changes neither (a rename touches the directory, not the file in it).
 */
function fingerprint(lockDir: string): string {
  const ownerFile = path.join(lockDir, OWNER_FILE);
  try {
    return `${fs.statSync(ownerFile).mtimeMs}:${fs.readFileSync(ownerFile, 'utf8')}`;
  } catch {
    return '-';
  }
}

/**
 * Moves an abandoned lock aside first (atomic), so that two waiters never both remove a fresh one; puts it
 * back when what was moved is not the holding judged abandoned (a new holder took the lock meanwhile).
 */
function breakStale(lockDir: string, judged: string): void {
  const aside = `${lockDir}.stale-${randomUUID()}`;
  try {
    fs.renameSync(lockDir, aside);
  } catch {
    return;
  }
  if (fingerprint(aside) !== judged && !fs.existsSync(lockDir)) {
    try {
      fs.renameSync(aside, lockDir);
      return;
    } catch {
      // Taken meanwhile: what was moved aside is gone for good.
    }
  }
  fs.rmSync(aside, { recursive: true, force: true });
}

/** Sets the lock's refresh time to now, while it is still ours. */
function refresh(lockDir: string, owner: LockOwner): void {
  if (readOwner(lockDir)?.token !== owner.token) return;
  const now = new Date();
  try {
    fs.utimesSync(path.join(lockDir, OWNER_FILE), now, now);
    fs.utimesSync(lockDir, now, now);
  } catch {
    // Taken over or removed: the release below leaves it alone.
  }
}

/**
 * Runs `fn` while holding a lock directory shared by every process of the agent (and of other agents
 * sharing the tool cache). Waits while another holder works (its refresh time moves); takes over a lock
 * whose refresh time stood still for staleAfterMs, whoever held it.
 */
export async function withDirectoryLock<T>(
  lockDir: string,
  fn: () => Promise<T>,
  options: LockOptions,
  signal: AbortSignal,
): Promise<T> {
  try {
    fs.mkdirSync(path.dirname(lockDir), { recursive: true });
  } catch (error: unknown) {
    throw asWriteError(error, path.dirname(lockDir)) ?? error;
  }
  const owner: LockOwner = { token: randomUUID(), pid: process.pid, host: os.hostname() };
  const staleness = new Staleness(staleAfterMs(options));
  const started = Date.now();
  let waiting = false;
  while (!tryAcquire(lockDir, owner)) {
    throwIfCancelled(signal);
    if (staleness.isStale(lockDir)) {
      breakStale(lockDir, fingerprint(lockDir));
      continue;
    }
    if (Date.now() - started > options.maxWaitMs) throw options.timedOut();
    if (!waiting) {
      waiting = true;
      options.onWait?.();
    }
    await options.sleep(options.pollMs, signal);
  }
  // A slow download must not look abandoned: the holder keeps the lock's time fresh while it works.
  const heartbeat = setInterval(() => {
    refresh(lockDir, owner);
  }, options.refreshMs);
  heartbeat.unref();
  try {
    return await fn();
  } finally {
    clearInterval(heartbeat);
    releaseIfOurs(lockDir, owner);
  }
}

/** Removes the lock unless another holder took it over meanwhile (then it is theirs to remove). */
function releaseIfOurs(lockDir: string, owner: LockOwner): void {
  if (readOwner(lockDir)?.token !== owner.token) return;
  fs.rmSync(lockDir, { recursive: true, force: true });
}
