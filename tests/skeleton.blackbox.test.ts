import * as assert from 'node:assert/strict';
import { runTask } from './support/agent';
import { bundledTaskEntry } from './support/repo';

describe('the bundled task, run as the agent runs it', () => {
  it('fails with a message naming repository when repository is empty', async () => {
    const run = await runTask({ entry: await bundledTaskEntry(), inputs: { repository: '' } });
    assert.equal(run.result, 'Failed');
    assert.match(run.resultMessage ?? '', /\brepository\b/);
    assert.ok(run.stdout.includes('##vso[task.complete result=Failed;]'));
    assert.doesNotMatch(run.stdout + run.stderr, /\n\s+at .+\(.+:\d+:\d+\)/, 'no stack trace');
    assert.equal(run.exitCode, 0);
  });
});
