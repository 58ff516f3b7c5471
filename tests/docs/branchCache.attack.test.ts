import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { repoRoot } from '../support/repo';
import { pipelinesDir, taskSteps } from './examples';

describe('branch cache clean-up: attacks', () => {
  it('the acr purge of old branch caches never deletes untagged manifests of the image repository', () => {
    // The cache lives in the image's own repository. acr purge --untagged deletes every untagged manifest
    // of the repositories its filter names, whatever --ago says and whatever tag pattern follows the colon
    // (Azure/acr-cli#486): a split build's platform images pushed by digest before their index is written,
    // and an image deployed by digest whose tag was removed.
    const pipeline: unknown = parse(fs.readFileSync(path.join(pipelinesDir, 'branch-cache.yml'), 'utf8'));
    const purge = taskSteps(pipeline).find((s) => s.task === 'AzureCLI@2');
    assert.ok(purge);
    const script = String(purge.inputs.inlineScript);
    assert.match(script, /acr purge /);
    assert.doesNotMatch(script, /--untagged/);

    const readme = fs.readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
    const commands = readme.match(/acr purge [^"\n]*/g) ?? [];
    assert.ok(commands.length > 0, 'the README shows the purge');
    for (const command of commands) assert.doesNotMatch(command, /--untagged/, command);
  });
});
