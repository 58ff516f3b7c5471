import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { TaskRun } from '../support/agent';
import { credentialFilesLeft, findSecrets } from '../support/leaks';

/** The command through which a task asks the agent to mask a value: the one place a secret may appear. */
const SET_SECRET = '##vso[task.setsecret]';

/**
 * The task's whole output (stdout then stderr) without the `##vso[task.setsecret]` lines, and nothing
 * else removed: those lines are how masking works, every other line reaches the log as it is.
 */
export function outputOutsideSetSecret(run: Pick<TaskRun, 'stdout' | 'stderr'>): string {
  return `${run.stdout}\n${run.stderr}`
    .split('\n')
    .filter((line) => !line.startsWith(SET_SECRET))
    .join('\n');
}

/** The non-empty base64 lines of a PEM bundle (a key's lines are secrets the agent masks one by one). */
export function pemSecretLines(pem: string): string[] {
  return pem
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line.length >= 6 && !line.startsWith('-----'));
}

/** A fresh, empty directory to give a run as HOME, so that what it leaves there can be found. */
export function freshHome(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'bkb-prove-home-'));
}

/**
 * The leak checks every case of the prove suites makes: no secret in the output outside setsecret
 * lines, no credential file left in Agent.TempDirectory or in the run's HOME.
 */
export function assertNoLeaks(run: TaskRun, secrets: readonly string[], home: string): void {
  const values = [...new Set(secrets.filter((s) => s !== ''))];
  assert.deepEqual(findSecrets(outputOutsideSetSecret(run), values), [], 'secrets printed outside setsecret');
  assert.deepEqual(
    credentialFilesLeft(run.tempDirectory, values),
    [],
    'credential files in Agent.TempDirectory',
  );
  assert.deepEqual(credentialFilesLeft(home, values), [], 'credential files in HOME');
}
