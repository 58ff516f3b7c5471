// Shared helpers for the benchmarks: timing child processes and summarising repeated measurements.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');
/** Where `npm run package` put the bundle and the .vsix, and where tsc put the compiled tests. */
export const distDir = join(root, process.env.BKB_DIST ?? 'dist');
export const outDir = join(root, process.env.BKB_OUT ?? 'out');
export const bundledTask = join(distDir, 'tasks', 'BuildKitBuild', 'index.js');

/** A module of the compiled test support (loopback servers, the agent harness), by its path in tests/. */
export const testSupport = (modulePath) => createRequire(import.meta.url)(join(outDir, 'tests', modulePath));

/** Median, min and max of a list of numbers. */
export function summarise(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median, min: sorted[0], max: sorted[sorted.length - 1], runs: sorted.length };
}

export const fmt = (s, digits = 1, unit = '') =>
  `${s.median.toFixed(digits)}${unit} (min ${s.min.toFixed(digits)}, max ${s.max.toFixed(digits)}, n=${s.runs})`;

/** Runs a command to its end and returns the wall time in milliseconds. */
export function timeRun(command, args, env = {}) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(command, args, { stdio: 'ignore', env: { PATH: process.env.PATH, ...env } });
    child.on('error', reject);
    child.on('close', () => resolve(Number(process.hrtime.bigint() - started) / 1e6));
  });
}

export async function repeat(times, measure) {
  const values = [];
  for (let i = 0; i < times; i++) values.push(await measure(i));
  return values;
}

const scratchRoot = mkdtempSync(join(tmpdir(), 'bkb-bench-'));
process.on('exit', () => rmSync(scratchRoot, { recursive: true, force: true }));

/** A directory for one measurement; every one goes when the benchmark process ends. */
export const scratch = (prefix) => mkdtempSync(join(scratchRoot, `${prefix}-`));
