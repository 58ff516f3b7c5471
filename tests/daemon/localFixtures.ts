import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { repoRoot } from '../support/repo';

const fixtures = path.join(repoRoot, 'tests', 'fixtures', 'fake-buildkitd');
/** Like a release archive's bin/: the fake buildkitd and a buildkit-runc stand-in. */
export const fakeBuildkitdBin = path.join(fixtures, 'bin');
export const fakeBuildkitdPath = path.join(fakeBuildkitdBin, 'buildkitd');
export const fakeRootlesskitDir = path.join(fixtures, 'rootlesskit');
export const fakeRootlesskitPath = path.join(fakeRootlesskitDir, 'rootlesskit');
export const fakeSudoDir = path.join(fixtures, 'sudo');
export const fakeSudoPath = path.join(fakeSudoDir, 'sudo');

/** What one fake process (buildkitd, rootlesskit, sudo) recorded about itself. */
export interface FakeRecord {
  program: string;
  pid: number;
  ppid: number;
  argv: string[];
  root?: string;
  flags?: string[];
  env?: Record<string, string | undefined>;
  /** buildkitd: the names of the OTEL_* variables it was given. */
  otel?: string[];
  events: string[];
}

export function records(dir: string, program: string): FakeRecord[] {
  return fs
    .readdirSync(dir)
    .filter((f) => f.startsWith(`${program}-`) && f.endsWith('.json'))
    .map((f) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as FakeRecord);
}

export function onlyRecord(dir: string, program: string): FakeRecord {
  const found = records(dir, program);
  if (found.length !== 1) throw new Error(`expected one ${program} record in ${dir}, found ${found.length}`);
  return found[0] as FakeRecord;
}

/** True when the pid no longer runs (gone, or a zombie waiting for its parent). */
export function isGone(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state === 'Z' || state === 'X';
  } catch {
    return true;
  }
}

/** The greeting line a daemon writes on its socket (a minimal client of the shared protocol). */
export function greeting(socket: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const client = net.connect(socket);
    let data = '';
    client.setEncoding('utf8');
    client.on('data', (chunk: string) => {
      data += chunk;
      const end = data.indexOf('\n');
      if (end >= 0) {
        client.destroy();
        resolve(data.slice(0, end));
      }
    });
    client.on('error', reject);
  });
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Entries left in a directory (the agent temp directory after a run). */
export function entries(dir: string): string[] {
  return fs.existsSync(dir) ? fs.readdirSync(dir) : [];
}

/** `--name value` from an argv, else undefined. */
export function argAfter(argv: readonly string[], name: string): string | undefined {
  const at = argv.indexOf(name);
  return at < 0 ? undefined : argv[at + 1];
}
