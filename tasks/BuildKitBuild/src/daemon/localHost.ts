import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
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
  return new Promise((resolve) => {
    execFile(sudo, ['-n', 'true'], { env: { ...env }, signal, timeout: 10_000 }, (error) => {
      resolve(error === null ? sudo : undefined);
    });
  });
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
  return new Promise((resolve) => {
    execFile(file, [...args], { env: { ...env }, timeout: timeoutMs }, (error, stdout, stderr) => {
      const output = `${stdout}${stderr}`.trim();
      resolve({ ok: error === null, output: error === null ? output : output || error.message });
    });
  });
}
