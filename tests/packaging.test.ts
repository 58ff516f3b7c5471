import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import {
  builtVsix,
  readJson,
  repoRoot,
  taskDefinition,
  vsixEntries,
  type TaskDefinition,
} from './support/repo';

const EXPECTED_FILES = [
  '[Content_Types].xml',
  'LICENSE',
  'extension.vsixmanifest',
  'extension.vsomanifest',
  'images/icon.png',
  'images/summary.png',
  'overview.md',
  'tasks/BuildKitBuild/ThirdPartyNotices.txt',
  'tasks/BuildKitBuild/icon.png',
  'tasks/BuildKitBuild/index.js',
  'tasks/BuildKitBuild/task.json',
];

describe('the .vsix', () => {
  it('holds exactly what runs: manifest, page, licence, icons, the bundle and its notices', async () => {
    const entries = await vsixEntries(builtVsix());
    assert.deepEqual([...entries.keys()].sort(), [...EXPECTED_FILES].sort());
    assert.ok(![...entries.keys()].some((name) => name.includes('node_modules') || name.endsWith('.ts')));
  });

  it('carries the extension identity and version that tfx wrote from the manifest', async () => {
    const entries = await vsixEntries(builtVsix());
    const manifest = entries.get('extension.vsixmanifest')?.toString('utf8') ?? '';
    const { version } = readJson(path.join(repoRoot, 'package.json')) as { version: string };
    assert.match(manifest, new RegExp(`<Identity [^>]*Id="buildkit-build"[^>]*Version="${version}"`));
    assert.match(manifest, /Publisher="buildkitbuild"/);
    const contributions = entries.get('extension.vsomanifest')?.toString('utf8') ?? '';
    assert.match(contributions, /"ms\.vss-distributed-task\.task"/);
  });

  it('ships the task.json of the sources, the bundle and the notices of what it bundles', async () => {
    const entries = await vsixEntries(builtVsix());
    const shipped = JSON.parse(
      entries.get('tasks/BuildKitBuild/task.json')?.toString('utf8') ?? '{}',
    ) as TaskDefinition;
    assert.deepEqual(shipped, taskDefinition());
    const notices = entries.get('tasks/BuildKitBuild/ThirdPartyNotices.txt')?.toString('utf8') ?? '';
    assert.match(notices, /azure-pipelines-task-lib@/);
    const bundle = entries.get('tasks/BuildKitBuild/index.js')?.toString('utf8') ?? '';
    assert.ok(
      !/require\(["']azure-pipelines-task-lib/.test(bundle),
      'task-lib must be bundled, not required',
    );
  });

  it('uses a 128x128 PNG icon', async () => {
    const entries = await vsixEntries(builtVsix());
    const icon = entries.get('images/icon.png');
    assert.ok(icon);
    assert.equal(icon.subarray(1, 4).toString('ascii'), 'PNG');
    assert.equal(icon.readUInt32BE(16), 128);
    assert.equal(icon.readUInt32BE(20), 128);
  });

  it('has a dev variant with its own extension id, task id and task name', async function () {
    this.timeout(120_000);
    execFileSync(process.execPath, [path.join(repoRoot, 'scripts', 'package.mjs'), '--dev'], {
      stdio: 'pipe',
    });
    const entries = await vsixEntries(builtVsix('dev'));
    const manifest = entries.get('extension.vsixmanifest')?.toString('utf8') ?? '';
    assert.match(manifest, /<Identity [^>]*Id="buildkit-build-dev"/);
    const devTask = JSON.parse(
      entries.get('tasks/BuildKitBuild/task.json')?.toString('utf8') ?? '{}',
    ) as TaskDefinition;
    const task = taskDefinition();
    assert.notEqual(devTask.id, task.id);
    assert.equal(devTask.name, 'BuildKitBuildDev');
    assert.deepEqual(devTask.inputs, task.inputs);
  });
});
