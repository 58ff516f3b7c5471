import * as assert from 'node:assert/strict';
import { runTask } from './support/agent';
import { assertNoStackTrace } from './support/leaks';
import { bundledTaskEntry } from './support/repo';

describe('the bundled task, run as the agent runs it', () => {
  it('fails with a message naming repository when repository is empty', async () => {
    const run = await runTask({ entry: await bundledTaskEntry(), inputs: { repository: '' } });
    assert.equal(run.result, 'Failed');
    assert.match(run.resultMessage ?? '', /\brepository\b/);
    assert.ok(run.stdout.includes('##vso[task.complete result=Failed;]'));
    assertNoStackTrace(run);
    assert.equal(run.exitCode, 0);
  });
});
