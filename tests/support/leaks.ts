import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { unescapeData, type TaskRun } from './agent';

/** Every place in a text where one of the secret values appears, as `secret@offset`. */
export function findSecrets(text: string, secrets: readonly string[]): string[] {
  const found: string[] = [];
  for (const secret of secrets) {
    if (secret.length < 6)
      throw new Error(`secret too short to scan for reliably: ${secret.length} characters`);
    let at = text.indexOf(secret);
    while (at >= 0) {
      found.push(`${secret.slice(0, 3)}…@${at}`);
      at = text.indexOf(secret, at + 1);
    }
  }
  return found;
}

/** Files below `dir` (recursively) whose content holds a secret or that look like a docker config. */
export function credentialFilesLeft(dir: string, secrets: readonly string[]): string[] {
  const left: string[] = [];
  const walk = (d: string): void => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch (error: unknown) {
      // A directory that vanished while scanning is fine; the one asked for must exist.
      if (d === dir) throw error;
      return;
    }
    for (const entry of entries) {
      const full = path.join(d, entry.name);
      if (entry.isDirectory()) {
        walk(full);
      } else if (entry.isFile()) {
        const content = fs.readFileSync(full, 'latin1');
        const looksLikeDockerConfig = entry.name === 'config.json' && /"auths"\s*:/.test(content);
        if (looksLikeDockerConfig || findSecrets(content, secrets).length > 0) left.push(full);
      }
    }
  };
  walk(dir);
  return left;
}

/** The command through which a task asks the agent to mask a value: the one place a secret may appear. */
const SET_SECRET = '##vso[task.setsecret]';

/**
 * The task's whole output (stdout then stderr) without the `##vso[task.setsecret]` lines, and nothing
 * else removed: those lines are how masking works, every other line reaches the log as it is. A command
 * line is also given as the agent shows it, its escaping undone: task-lib writes a `%`, `;`, `]` or line
 * break of a command's text escaped (`%AZP25`, `%3B`, ...), so a secret holding one would otherwise be missed.
 */
export function outputOutsideSetSecret(run: Pick<TaskRun, 'stdout' | 'stderr'>): string {
  return `${run.stdout}\n${run.stderr}`
    .split('\n')
    .filter((line) => !line.startsWith(SET_SECRET))
    .flatMap((line) => (line.includes('##vso[') ? [line, unescapeData(line)] : [line]))
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

/**
 * No stack trace anywhere the user could see one: the raw output (an uncaught crash) and the decoded
 * messages of the task's commands (`##vso[task.complete]` and `task.issue` carry the failure text with
 * its line breaks escaped).
 */
export function assertNoStackTrace(run: Pick<TaskRun, 'stdout' | 'stderr' | 'commands'>): void {
  const visible = [run.stdout, run.stderr, ...run.commands.map((c) => c.message)].join('\n');
  assert.doesNotMatch(visible, /^\s+at .+:\d+:\d+\)?$/m, 'no stack trace');
}
