import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse } from 'yaml';
import { repoRoot, taskDefinition } from '../support/repo';
import { isObject, stepProblems, taskSteps } from './examples';

const readmePath = path.join(repoRoot, 'README.md');
const overviewPath = path.join(repoRoot, 'overview.md');
const script = path.join(repoRoot, 'scripts', 'input-reference.mjs');
const readme = (): string => fs.readFileSync(readmePath, 'utf8');

function reference(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, [script, ...args], { encoding: 'utf8' });
}

/** The text between `<!-- name:start -->` and `<!-- name:end -->`. */
function section(text: string, name: string): string {
  const start = text.indexOf(`<!-- ${name}:start -->`);
  const end = text.indexOf(`<!-- ${name}:end -->`);
  assert.ok(start >= 0 && end > start, `markers of ${name}`);
  return text.slice(start + `<!-- ${name}:start -->`.length, end).trim();
}

/** YAML code blocks of a Markdown text. */
function yamlBlocks(text: string): string[] {
  return [...text.matchAll(/^```ya?ml\n([\s\S]*?)^```$/gm)].map((m) => m[1] ?? '');
}

describe('README.md and overview.md', () => {
  it('start with the title and the two commands, exactly', () => {
    const head = readme().split('\n').slice(0, 6).join('\n');
    assert.equal(
      head,
      [
        '# BuildKitBuild',
        '',
        '```sh',
        'npm ci && npm run package   # builds dist/buildkit-build-<version>.vsix, installable in Azure DevOps',
        'npm ci && npm test          # lint, build, package, and every test',
        '```',
      ].join('\n'),
    );
  });

  it('hold the input and output reference that scripts/input-reference.mjs generates from task.json', () => {
    const generated = reference();
    assert.equal(generated.status, 0, generated.stderr);
    const text = readme();
    assert.equal(`${section(text, 'inputs')}\n\n${section(text, 'outputs')}\n`, generated.stdout);
    const check = reference('--check');
    assert.equal(check.status, 0, check.stderr);
  });

  it('name every input, alias and output variable of task.json in the reference', () => {
    const task = taskDefinition();
    const inputs = section(readme(), 'inputs');
    for (const input of task.inputs) {
      assert.ok(inputs.includes(`\`${input.name}\``), input.name);
      for (const alias of input.aliases ?? []) assert.ok(inputs.includes(`alias \`${alias}\``), alias);
    }
    const outputs = section(readme(), 'outputs');
    for (const output of task.outputVariables) assert.ok(outputs.includes(`\`${output.name}\``), output.name);
  });

  it('has a --check that fails, and a --write that repairs, when README and task.json drift', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bkb-readme-'));
    try {
      const task = taskDefinition();
      const drifted = {
        ...task,
        inputs: task.inputs.map((i) => (i.name === 'push' ? { ...i, defaultValue: 'false' } : i)),
      };
      const taskFile = path.join(dir, 'task.json');
      const readmeFile = path.join(dir, 'README.md');
      fs.writeFileSync(taskFile, JSON.stringify(drifted));
      fs.writeFileSync(readmeFile, readme());
      const check = reference('--check', '--task', taskFile, '--readme', readmeFile);
      assert.equal(check.status, 1);
      assert.match(check.stderr, /differs from/);
      assert.equal(reference('--write', '--task', taskFile, '--readme', readmeFile).status, 0);
      assert.equal(reference('--check', '--task', taskFile, '--readme', readmeFile).status, 0);
      const written = fs.readFileSync(readmeFile, 'utf8');
      assert.match(section(written, 'inputs'), /^\| `push` \| boolean \| `false` \|/m);
      assert.equal(
        written.replace(section(written, 'inputs'), ''),
        readme().replace(section(readme(), 'inputs'), ''),
      );
      fs.writeFileSync(readmeFile, '# no markers\n');
      const missing = reference('--check', '--task', taskFile, '--readme', readmeFile);
      assert.notEqual(missing.status, 0);
      assert.match(missing.stderr, /no <!-- inputs:start -->/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('quote in Troubleshooting only messages task.json still has', () => {
    const messages = Object.values(taskDefinition().messages).map((m) => m.replace(/%[sd]/g, '…'));
    const table = readme().split('## Troubleshooting')[1]?.split('\n## ')[0] ?? '';
    const quoted = [...table.matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1] ?? '');
    assert.ok(quoted.length >= 30, `${quoted.length} rows`);
    for (const text of quoted) {
      assert.ok(
        messages.some((m) => m.includes(text)),
        `"${text}" is no longer a message of task.json`,
      );
    }
  });

  it('show only YAML whose BuildKitBuild@1 steps task.json accepts', () => {
    const task = taskDefinition();
    let steps = 0;
    for (const file of [
      readmePath,
      overviewPath,
      path.join(repoRoot, 'examples', 'kubernetes', 'README.md'),
    ]) {
      for (const block of yamlBlocks(fs.readFileSync(file, 'utf8'))) {
        const doc = parse(block) as unknown;
        assert.ok(isObject(doc), `${file}: a YAML mapping`);
        for (const step of taskSteps(doc).filter((s) => s.task === 'BuildKitBuild@1')) {
          steps++;
          assert.deepEqual(stepProblems(step.inputs, task), [], path.basename(file));
        }
      }
    }
    assert.ok(steps >= 3, `${steps} steps`);
  });

  it('show in the README quick start the smallest pipeline: no daemon deployed', () => {
    const quickStart = readme().split('## Quick start')[1] ?? '';
    const first = parse(yamlBlocks(quickStart)[0] ?? '') as unknown;
    const step = taskSteps(first)[0];
    assert.ok(step);
    assert.equal(step.inputs.buildkitAddress, undefined);
    const sample = parse(
      fs.readFileSync(path.join(repoRoot, 'examples', 'pipelines', 'no-daemon.yml'), 'utf8'),
    ) as unknown;
    assert.deepEqual(Object.keys(step.inputs).sort(), Object.keys(taskSteps(sample)[0]?.inputs ?? {}).sort());
  });

  it('link only to files that exist', () => {
    for (const file of [readmePath, path.join(repoRoot, 'examples', 'kubernetes', 'README.md')]) {
      const text = fs.readFileSync(file, 'utf8');
      for (const m of text.matchAll(/\]\(([^)#\s]+)\)/g)) {
        const target = m[1] ?? '';
        if (/^https?:/.test(target)) continue;
        assert.ok(
          fs.existsSync(path.resolve(path.dirname(file), target)),
          `${path.basename(file)} → ${target}`,
        );
      }
    }
  });

  it('shows on the Marketplace page the build summary picture, a PNG shipped in images/', () => {
    const overview = fs.readFileSync(overviewPath, 'utf8');
    const picture = /!\[[^\]]*\]\((images\/[^)]+\.png)\)/.exec(overview)?.[1];
    assert.equal(picture, 'images/summary.png');
    const png = fs.readFileSync(path.join(repoRoot, picture));
    assert.equal(png.subarray(1, 4).toString('ascii'), 'PNG');
    assert.ok(png.readUInt32BE(16) >= 400, 'at least 400 pixels wide');
  });
});
