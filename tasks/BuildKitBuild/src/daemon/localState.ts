import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { LocalLayout } from './localMode';
import { errorText } from '../core/errorText';

/** sun_path holds 108 bytes on Linux, the terminating NUL included; stay clear of it. */
const maxSocketPathBytes = 100;

/**
 * Characters a `unix://` address keeps as they are. buildkitd takes the text after `unix://` as the path,
 * but buildctl parses the address as a URL (Go's url.Parse, then gRPC): `#` starts a fragment, `?` a query,
 * `%` an escape, and control characters (a newline) are refused, so such a path would name another file.
 */
const safeSocketPath = /^[A-Za-z0-9/._~+=,@:-]+$/;

/** Pure: whether buildctl and buildkitd both read `unix://<socket>` as this very path. */
export function isSafeSocketPath(socket: string): boolean {
  return safeSocketPath.test(socket) && Buffer.byteLength(socket) <= maxSocketPathBytes;
}

/**
 * Creates a private (0700) directory for one daemon under `tempDirectory` (Agent.TempDirectory). The
 * socket lives there too unless its path is too long for a unix socket or holds characters a URL would
 * read otherwise: then in a private directory under the system temp directory, else under /tmp.
 */
export function createLayout(tempDirectory: string, systemTemp: string = os.tmpdir()): LocalLayout {
  fs.mkdirSync(tempDirectory, { recursive: true });
  const base = fs.mkdtempSync(path.join(tempDirectory, 'buildkitd-'));
  let socket = path.join(base, 'buildkitd.sock');
  let socketDir: string | undefined;
  if (!isSafeSocketPath(socket)) {
    const parent = isSafeSocketPath(path.join(systemTemp, 'bkd-XXXXXX', 'buildkitd.sock'))
      ? systemTemp
      : '/tmp';
    socketDir = fs.mkdtempSync(path.join(parent, 'bkd-'));
    socket = path.join(socketDir, 'buildkitd.sock');
  }
  const runtimeDir = path.join(base, 'run');
  fs.mkdirSync(runtimeDir, { mode: 0o700 });
  return {
    base,
    socket,
    socketDir,
    root: path.join(base, 'root'),
    rootlesskitState: path.join(base, 'rootlesskit'),
    runtimeDir,
  };
}

/** Removes a directory as the task; undefined when it is gone, else why it could not. */
function removeOwn(dir: string): string | undefined {
  try {
    fs.rmSync(dir, { recursive: true, force: true, maxRetries: 2 });
    return undefined;
  } catch (error: unknown) {
    return errorText(error);
  }
}

/**
 * Removes the layout. Files a root or rootless daemon created may not be the task's to delete: then
 * `privilegedRemove` (sudo rm, or rm inside rootlesskit's user namespace) gets a turn. Returns the
 * directories left behind with the reason.
 */
export async function removeLayout(
  layout: LocalLayout,
  privilegedRemove: ((dir: string) => Promise<string | undefined>) | undefined,
): Promise<{ dir: string; reason: string }[]> {
  const left: { dir: string; reason: string }[] = [];
  for (const dir of [layout.base, layout.socketDir]) {
    if (dir === undefined) continue;
    let reason = removeOwn(dir);
    if (reason !== undefined && privilegedRemove !== undefined) {
      const helperProblem = await privilegedRemove(dir);
      reason = removeOwn(dir) === undefined ? undefined : (helperProblem ?? reason);
    }
    if (reason !== undefined) left.push({ dir, reason });
  }
  return left;
}
