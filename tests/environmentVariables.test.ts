import * as assert from 'node:assert/strict';
import { taskDefinition } from './support/repo';

/**
 * Classic Build and Release definitions show a task's "Environment Variables" section only when its
 * task.json sets showEnvironmentVariables (as Microsoft's script tasks do). Without it, a secret pipeline
 * variable cannot be mapped into the task's environment, which bare buildArgs keys and
 * `secrets … env=` need.
 */
describe('task.json: environment variables in the classic editor', () => {
  it('sets showEnvironmentVariables to the boolean true', () => {
    const task = taskDefinition() as unknown as Record<string, unknown>;
    assert.equal(task.showEnvironmentVariables, true);
  });
});
