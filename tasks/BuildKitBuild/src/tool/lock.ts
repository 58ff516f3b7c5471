import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { throwIfCancelled } from '../cancellation';

/** Who holds a lock: written inside the lock directory by its holder. */
interface LockOwner {
  readonly pid: number;
  readonly host: string;
}

export interface LockOptions {
  /** Wait between two tries to take a busy lock. */
  readonly pollMs: number;
  /**
   * A lock not refreshed for this long is abandoned, whoever holds it (a holder on another machine that
   * died, or one that hangs). A live holder refreshes it every third of this.
   */
  readonly staleMs: number;
  /** Give up waiting after this long. */
  readonly maxWaitMs: number;
  sleep(ms: number, signal: AbortSignal): Promise<void>;
  /** Called once when the lock is busy and the caller starts waiting. */
  onWait?(): void;
  /** The error thrown after waiting `maxWaitMs` in vain. */
  timedOut(): Error;
}

export const DEFAULT_LOCK_TIMING: Pick<LockOptions, 'pollMs' | 'staleMs' | 'maxWaitMs'> = {
  pollMs: 250,
  staleMs: 15 * 60_000,
  maxWaitMs: 20 * 60_000,
};

const OWNER_FILE = 'owner.json';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error: unknown) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readOwner(lockDir: string): LockOwner | undefined {
  try {
    const owner = JSON.parse(fs.readFileSync(path.join(lockDir, OWNER_FILE), 'utf8')) as Partial<LockOwner>;
    return typeof owner.pid === 'number' && typeof owner.host === 'string'
      ? { pid: owner.pid, host: owner.host }
      : undefined;
  } catch {
    return undefined;
  }
}

/** A lock left by a process of this machine that has died, or one not refreshed for `staleMs`. */
function isStale(lockDir: string, staleMs: number): boolean {
  let ageMs: number;
  try {
    ageMs = Date.now() - fs.statSync(lockDir).mtimeMs;
  } catch {
    return false;
  }
  if (ageMs > staleMs) return true;
  const owner = readOwner(lockDir);
  return owner !== undefined && owner.host === os.hostname() && !isAlive(owner.pid);
}

/** Takes the lock when free (mkdir is atomic); false when someone else holds it. */
function tryAcquire(lockDir: string): boolean {
  try {
    fs.mkdirSync(lockDir);
  } catch (error: unknown) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  const owner: LockOwner = { pid: process.pid, host: os.hostname() };
  fs.writeFileSync(path.join(lockDir, OWNER_FILE), JSON.stringify(owner));
  return true;
}

/** Moves an abandoned lock aside first (atomic), so that two waiters never both remove a fresh one. */
function breakStale(lockDir: string): void {
  const aside = `${lockDir}.stale-${process.pid}-${Date.now()}`;
  try {
    fs.renameSync(lockDir, aside);
  } catch {
    return;
  }
  fs.rmSync(aside, { recursive: true, force: true });
}

/**
 * Runs `fn` while holding a lock directory shared by every process of the agent (and of other agents
 * sharing the tool cache). Waits while another holder works; takes over a lock whose holder died.
 */
export async function withDirectoryLock<T>(
  lockDir: string,
  fn: () => Promise<T>,
  options: LockOptions,
  signal: AbortSignal,
): Promise<T> {
  fs.mkdirSync(path.dirname(lockDir), { recursive: true });
  const started = Date.now();
  let waiting = false;
  while (!tryAcquire(lockDir)) {
    throwIfCancelled(signal);
    if (isStale(lockDir, options.staleMs)) {
      breakStale(lockDir);
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
    const now = new Date();
    try {
      fs.utimesSync(lockDir, now, now);
    } catch {
      // Taken over or removed: the release below leaves it alone.
    }
  }, options.staleMs / 3);
  heartbeat.unref();
  try {
    return await fn();
  } finally {
    clearInterval(heartbeat);
    releaseIfOurs(lockDir);
  }
}

/** Removes the lock unless another holder took it over meanwhile (then it is theirs to remove). */
function releaseIfOurs(lockDir: string): void {
  const owner = readOwner(lockDir);
  if (owner !== undefined && (owner.pid !== process.pid || owner.host !== os.hostname())) return;
  fs.rmSync(lockDir, { recursive: true, force: true });
}
