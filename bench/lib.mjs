// Shared helpers for the benchmarks: timing child processes and summarising repeated measurements.
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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

export const scratch = (prefix) => mkdtempSync(join(tmpdir(), `bkb-bench-${prefix}-`));
