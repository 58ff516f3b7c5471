import * as assert from 'node:assert/strict';
import { TaskCommand } from 'azure-pipelines-task-lib/taskcommand';
import { parseVsoCommands } from './agent';

describe('the test harness reads ##vso commands as the agent does', () => {
  it("undoes task-lib's escaping of messages and properties exactly", () => {
    const message = 'line 1\r\nline 2 has ; and ] and 50% and a%20b';
    const value = 'a;b]c%d';
    const line = new TaskCommand('task.setvariable', { variable: 'out', note: value }, message).toString();
    assert.deepEqual(parseVsoCommands(`noise\n${line}\n`), [
      { name: 'task.setvariable', properties: { variable: 'out', note: value }, message },
    ]);
  });
});
