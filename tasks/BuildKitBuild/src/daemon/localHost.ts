import * as fs from 'node:fs';
import * as path from 'node:path';
import { captureProcess, describeEnd, succeeded } from '../process/process';
import type { Buildctl } from '../tool/install';
import type { LocalBinaries } from './localMode';

function isExecutable(file: string): boolean {
  try {
    if (!fs.statSync(file).isFile()) return false;
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * buildkitd and its runc: from the release archive's bin/ (Buildctl.binDir), else beside buildctl, else
 * PATH. runc: buildkit-runc beside that buildkitd, else buildkit-runc or runc on PATH, else undefined.
 * Returns the places searched when buildkitd is nowhere.
 */
export function findLocalBinaries(
  buildctl: Buildctl,
  findOnPath: (tool: string) => string | undefined,
): { found: LocalBinaries } | { searched: string[] } {
  const dirs = [...new Set([buildctl.binDir, path.dirname(buildctl.path)])];
  const buildkitd =
    dirs.map((dir) => path.join(dir, 'buildkitd')).find(isExecutable) ?? findOnPath('buildkitd');
  if (buildkitd === undefined) return { searched: [...dirs, 'PATH'] };
  const beside = path.join(path.dirname(buildkitd), 'buildkit-runc');
  const runc = isExecutable(beside) ? beside : (findOnPath('buildkit-runc') ?? findOnPath('runc'));
  return { found: { buildkitd, runc } };
}

/** sudo's path when `sudo -n true` succeeds (passwordless, no prompt); undefined otherwise or without sudo. */
export function passwordlessSudo(
  sudo: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
  signal: AbortSignal,
): Promise<string | undefined> {
  if (sudo === undefined) return Promise.resolve(undefined);
  return captureProcess({ file: sudo, args: ['-n', 'true'], env, signal, timeoutMs: 10_000 }).then(
    ({ result }) => (succeeded(result) ? sudo : undefined),
    () => undefined,
  );
}

/** A file's text, or undefined when it cannot be read (for /proc/sys lookups). */
export function readIfPresent(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** Runs a short helper command (privileged clean-up); resolves with its combined output or an error text. */
export function runHelper(
  file: string,
  args: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  timeoutMs: number,
): Promise<{ ok: boolean; output: string }> {
  return captureProcess({ file, args, env, timeoutMs }).then(
    ({ result, output }) =>
      succeeded(result)
        ? { ok: true, output }
        : { ok: false, output: output || describeEnd(result, timeoutMs) },
    (error: unknown) => ({ ok: false, output: error instanceof Error ? error.message : String(error) }),
  );
}
