// One version for the extension: package.json is the source; vss-extension.json and every task.json
// must agree with it. `node scripts/versions.mjs set 1.2.3` writes it everywhere; without arguments it checks.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const taskNames = ['BuildKitBuild'];
const readJson = (file) => JSON.parse(readFileSync(join(root, file), 'utf8'));
const writeJson = (file, value) => writeFileSync(join(root, file), `${JSON.stringify(value, null, 2)}\n`);
const taskFile = (task) => `tasks/${task}/task.json`;

/** Every version the project states, by the file that states it. */
export function statedVersions() {
  const stated = {
    'package.json': readJson('package.json').version,
    'vss-extension.json': readJson('vss-extension.json').version,
  };
  for (const task of taskNames) {
    const { Major, Minor, Patch } = readJson(taskFile(task)).version;
    stated[taskFile(task)] = `${Major}.${Minor}.${Patch}`;
  }
  return stated;
}

/** Throws unless every file states package.json's version. */
export function checkVersions() {
  const stated = statedVersions();
  const wanted = stated['package.json'];
  const wrong = Object.entries(stated).filter(([, v]) => v !== wanted);
  if (wrong.length > 0) {
    const list = wrong.map(([file, v]) => `${file} has ${v}`).join(', ');
    throw new Error(
      `version mismatch: package.json has ${wanted} but ${list}. Run: node scripts/versions.mjs set ${wanted}`,
    );
  }
  return wanted;
}

function setVersions(version) {
  const match = /^(\d+)\.(\d+)\.(\d+)$/.exec(version);
  if (!match) throw new Error(`not a version: ${version} (expected MAJOR.MINOR.PATCH)`);
  const [, Major, Minor, Patch] = match.map(Number);
  for (const file of ['package.json', 'vss-extension.json']) writeJson(file, { ...readJson(file), version });
  for (const task of taskNames) {
    const json = readJson(taskFile(task));
    writeJson(taskFile(task), { ...json, version: { Major, Minor, Patch } });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [command, version] = process.argv.slice(2);
  try {
    if (command === 'set') setVersions(version ?? '');
    console.log(`version ${checkVersions()}`);
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  }
}
