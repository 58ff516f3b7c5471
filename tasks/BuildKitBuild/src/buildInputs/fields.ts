import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RunContext } from '../core/context';
import type { InputProblem } from '../core/inputErrors';
import type { InputName } from '../core/inputs';

/** Adds one problem for an input (and, for multi-line inputs, its 1-based line). */
export type Report = (input: InputName, message: string, line?: number) => void;

export function reporter(problems: InputProblem[]): Report {
  return (input, message, line) => {
    problems.push(line === undefined ? { input, message } : { input, line, message });
  };
}

/** `true`/`false` in any case; empty takes the default; anything else is a problem. */
export function parseBoolean(
  input: InputName,
  raw: string,
  fallback: boolean,
  ctx: RunContext,
  report: Report,
): boolean {
  const value = raw.trim().toLowerCase();
  if (value === '') return fallback;
  if (value === 'true') return true;
  if (value === 'false') return false;
  report(input, ctx.loc('BuildBooleanInvalid', raw.trim()));
  return fallback;
}

/** One of the pick list's values in any case; empty takes the default. */
export function parsePick<T extends string>(
  input: InputName,
  raw: string,
  allowed: readonly T[],
  fallback: T,
  ctx: RunContext,
  report: Report,
): T {
  const value = raw.trim().toLowerCase();
  if (value === '') return fallback;
  const found = allowed.find((a) => a === value);
  if (found !== undefined) return found;
  report(input, ctx.loc('BuildPickInvalid', raw.trim(), allowed.join(', ')));
  return fallback;
}

/** An absolute path: relative ones resolved against base. */
export function absolutePath(base: string, value: string): string {
  return path.resolve(base, value);
}

export type PathKind = 'file' | 'directory' | 'missing';

/** What is at a path (following links); `missing` when nothing or unreadable. */
export function pathKind(target: string): PathKind {
  try {
    return fs.statSync(target).isDirectory() ? 'directory' : 'file';
  } catch {
    return 'missing';
  }
}

/** System.DefaultWorkingDirectory, else the process's working directory. */
export function workingDirectory(ctx: RunContext): string {
  const value = ctx.variable('System.DefaultWorkingDirectory')?.trim();
  return value === undefined || value === '' ? process.cwd() : value;
}
