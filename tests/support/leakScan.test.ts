import * as assert from 'node:assert/strict';
import { TaskCommand } from 'azure-pipelines-task-lib/taskcommand';
import { findSecrets, outputOutsideSetSecret } from './leaks';

describe('the leak scan sees secrets as the agent shows them', () => {
  // A proxy password and a percent-encoded SAS signature: task-lib escapes `%`, `;` and `]` in a command.
  for (const secret of ['pa%ss;w]rd', 'Zq8yT3xV1k4s%2Fn0tR3al%2BSig%3D']) {
    it(`finds ${JSON.stringify(secret)} in a debug line, where task-lib wrote it escaped`, () => {
      const line = new TaskCommand('task.debug', {}, `url=https://mirror/?sig=${secret}`).toString();
      assert.ok(!line.includes(secret), 'the escaped line hides the raw value');
      assert.equal(
        findSecrets(outputOutsideSetSecret({ stdout: `${line}\n`, stderr: '' }), [secret]).length,
        1,
      );
    });
  }

  it('still ignores setsecret lines, the one place a secret may appear', () => {
    const line = new TaskCommand('task.setsecret', {}, 'pa%ss;w]rd').toString();
    assert.deepEqual(
      findSecrets(outputOutsideSetSecret({ stdout: `${line}\n`, stderr: '' }), ['pa%ss;w]rd']),
      [],
    );
  });
});
