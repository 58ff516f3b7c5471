import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { repoRoot } from '../support/repo';
import { isObject, pipelinesDir, taskSteps } from './examples';

const file = path.join(pipelinesDir, 'branch-cache.yml');
const pipeline: unknown = parse(fs.readFileSync(file, 'utf8'));

describe('examples/pipelines/branch-cache.yml', () => {
  it('leaves cacheRef empty, so the cache follows branches, and names the default branch', () => {
    const [build, ...more] = taskSteps(pipeline).filter((s) => s.task === 'BuildKitBuild@1');
    assert.ok(build);
    assert.equal(more.length, 0);
    assert.equal(build.inputs.cacheRef, undefined, 'an explicit cacheRef would be used exactly');
    assert.notEqual(build.inputs.cache, 'none');
    assert.ok(isObject(pipeline) && isObject(pipeline.variables));
    assert.equal(pipeline.variables['BuildKitBuild.DefaultBranch'], 'main');
  });

  it('purges only branch caches of the repository it builds, never the default branch ref', () => {
    const steps = taskSteps(pipeline);
    const build = steps.find((s) => s.task === 'BuildKitBuild@1');
    const purge = steps.find((s) => s.task === 'AzureCLI@2');
    assert.ok(build && purge);
    const script = String(purge.inputs.inlineScript);
    const filter = /--filter '([^':]+):([^']+)'/.exec(script);
    assert.ok(filter, script);
    assert.equal(filter[1], build.inputs.repository);
    const tags = new RegExp(filter[2] ?? '');
    assert.equal(tags.test('buildcache'), false, 'the default branch cache is kept');
    assert.equal(tags.test('buildcache-feature-login'), true);
    assert.equal(tags.test('buildcache-_pr42'), true);
    assert.match(script, /--registry contosoacr /);
    assert.match(script, /--ago \d+d/);
  });

  it('is listed in the README samples table', () => {
    const readme = fs.readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
    assert.match(readme, /\| \[`branch-cache\.yml`\]\(examples\/pipelines\/branch-cache\.yml\) \|/);
  });
});
