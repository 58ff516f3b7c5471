import * as assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { INPUT_NAMES } from '../tasks/BuildKitBuild/src/core/inputs';
import { repoRoot, taskDefinition } from './support/repo';

/** Every `loc('Key'` the task's sources use. */
function messageKeysUsed(): Set<string> {
  const dir = path.join(repoRoot, 'tasks', 'BuildKitBuild', 'src');
  const keys = new Set<string>();
  const walk = (d: string): void => {
    for (const entry of fs.readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.ts')) {
        for (const m of fs.readFileSync(full, 'utf8').matchAll(/\bloc\(\s*'([A-Za-z0-9_]+)'/g))
          keys.add(m[1] ?? '');
      }
    }
  };
  walk(dir);
  return keys;
}

describe('task.json', () => {
  const task = taskDefinition();

  it('declares exactly the inputs the task reads', () => {
    assert.deepEqual(
      task.inputs.map((i) => i.name),
      [...INPUT_NAMES],
    );
  });

  it('gives every input a label, help and a declared group', () => {
    const groups = new Set(task.groups.map((g) => g.name));
    assert.deepEqual([...groups], ['registry', 'build', 'cache', 'daemon', 'tool', 'advanced']);
    for (const input of task.inputs) {
      assert.ok(input.label && input.label.length > 2, `${input.name}: label`);
      assert.ok(input.helpMarkDown && input.helpMarkDown.length > 20, `${input.name}: helpMarkDown`);
      assert.ok(input.groupName && groups.has(input.groupName), `${input.name}: group ${input.groupName}`);
    }
  });

  it('uses only known inputs in visible rules', () => {
    const names = new Set(task.inputs.map((i) => i.name));
    const ruled = task.inputs.filter((i) => i.visibleRule);
    assert.ok(ruled.length >= 3);
    for (const input of ruled) {
      for (const clause of (input.visibleRule ?? '').split(/&&|\|\|/)) {
        const referenced = /^\s*(\w+)\s*(=|!=|<|>)/.exec(clause)?.[1];
        assert.ok(referenced && names.has(referenced), `${input.name}: visibleRule ${input.visibleRule}`);
      }
    }
  });

  it('offers the registries of the chosen subscription for acr and keeps it editable', () => {
    const acr = task.inputs.find((i) => i.name === 'acr');
    assert.equal(acr?.properties?.EditableOptions, 'True');
    const binding = task.dataSourceBindings?.find((b) => b.target === 'acr');
    assert.ok(binding, 'a data source binding targets acr');
    assert.equal(binding.dataSourceName, 'AzureRMContainerRegistries');
    assert.equal(binding.endpointId, '$(azureSubscription)');
  });

  it('runs one bundled file on Node20_1 and Node24, with an agent version that has Node20_1', () => {
    assert.deepEqual(Object.keys(task.execution).sort(), ['Node20_1', 'Node24']);
    for (const handler of Object.values(task.execution)) assert.equal(handler.target, 'index.js');
    const [major, minor] = task.minimumAgentVersion.split('.').map(Number);
    assert.ok((major ?? 0) > 3 || ((major ?? 0) === 3 && (minor ?? 0) >= 232), task.minimumAgentVersion);
    assert.match(task.instanceNameFormat, /\$\(repository\)/);
  });

  it('declares every message the sources use, and uses every message it declares', () => {
    const used = messageKeysUsed();
    const declared = new Set(Object.keys(task.messages));
    assert.deepEqual(
      [...used].filter((k) => !declared.has(k)),
      [],
      'used but not declared',
    );
    assert.deepEqual(
      [...declared].filter((k) => !used.has(k)),
      [],
      'declared but never used',
    );
  });
});

describe('versions', () => {
  it('agree across package.json, vss-extension.json and task.json', () => {
    const out = execFileSync(process.execPath, [path.join(repoRoot, 'scripts', 'versions.mjs')], {
      encoding: 'utf8',
    });
    const { version } = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
      version: string;
    };
    assert.equal(out.trim(), `version ${version}`);
  });

  it('the check fails when one file disagrees', () => {
    const copy = fs.mkdtempSync(path.join(repoRoot, 'out', 'versions-'));
    try {
      for (const file of [
        'package.json',
        'vss-extension.json',
        'scripts/versions.mjs',
        'tasks/BuildKitBuild/task.json',
      ]) {
        fs.mkdirSync(path.dirname(path.join(copy, file)), { recursive: true });
        fs.copyFileSync(path.join(repoRoot, file), path.join(copy, file));
      }
      const manifest = path.join(copy, 'vss-extension.json');
      const json = JSON.parse(fs.readFileSync(manifest, 'utf8')) as { version: string };
      fs.writeFileSync(manifest, JSON.stringify({ ...json, version: '9.9.9' }));
      const run = spawnSync(process.execPath, [path.join(copy, 'scripts', 'versions.mjs')], {
        encoding: 'utf8',
      });
      assert.notEqual(run.status, 0);
      assert.match(run.stderr, /vss-extension\.json has 9\.9\.9/);
    } finally {
      fs.rmSync(copy, { recursive: true, force: true });
    }
  });
});
