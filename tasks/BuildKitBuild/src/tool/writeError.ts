import * as fs from 'node:fs';
import * as path from 'node:path';
import { CancelledError } from '../core/cancellation';

/** Why writing into a directory failed, in the terms of what the user can do about it. */
export type WriteProblem = 'full' | 'notWritable';

/** Free space below which a failed write is blamed on a full disk even without an error code saying so. */
const NEARLY_FULL_BYTES = 1024 * 1024;

/** The problem an errno code names, undefined for codes that are not about the directory. */
export function writeProblemOfCode(code: string | undefined): WriteProblem | undefined {
  switch (code) {
    case 'ENOSPC':
    case 'EDQUOT':
      return 'full';
    case 'EROFS':
    case 'EACCES':
    case 'EPERM':
    case 'ENOENT':
    case 'ENOTDIR':
      return 'notWritable';
    default:
      return undefined;
  }
}

/** A write into `dir` (or below it) that failed because of the directory or its disk. */
export class WriteError extends Error {
  readonly dir: string;
  readonly problem: WriteProblem;
  constructor(dir: string, problem: WriteProblem, cause: unknown) {
    super(`cannot write to ${dir}`, { cause });
    this.name = 'WriteError';
    this.dir = dir;
    this.problem = problem;
  }
}

/** True when the file system holding `dir` (or its nearest existing parent) has almost no space left. */
export function isNearlyFull(dir: string): boolean {
  for (let at = dir; ; at = path.dirname(at)) {
    try {
      const stats = fs.statfsSync(at);
      return stats.bavail * stats.bsize < NEARLY_FULL_BYTES;
    } catch {
      if (path.dirname(at) === at) return false;
    }
  }
}

/**
 * The WriteError for a failure while writing into `dir`: from the error's code, else (a child process such
 * as tar that only says it failed) from the free space left; undefined when neither points at the directory.
 */
export function asWriteError(error: unknown, dir: string): WriteError | undefined {
  if (error instanceof WriteError) return error;
  if (error instanceof CancelledError) return undefined;
  const problem =
    writeProblemOfCode((error as NodeJS.ErrnoException | undefined)?.code) ??
    (isNearlyFull(dir) ? 'full' : undefined);
  return problem === undefined ? undefined : new WriteError(dir, problem, error);
}

/** Runs `fn`, turning a failure to write into `dir` into a WriteError; other errors pass unchanged. */
export async function writingInto<T>(dir: string, fn: () => Promise<T> | T): Promise<T> {
  try {
    return await fn();
  } catch (error: unknown) {
    throw asWriteError(error, dir) ?? error;
  }
}
