import * as assert from 'node:assert/strict';
import {
  attachmentName,
  maskSecrets,
  neutralizeCommands,
} from '../../tasks/BuildKitBuild/src/core/agentText';

/**
 * What the agent would find in a line: it splits at `\r` and `\n`, and its culture-sensitive search for
 * `##vso[` skips control and default-ignorable characters. True when the line would be a command or a
 * formatting command anywhere in it.
 */
export function agentSeesCommand(text: string): boolean {
  return text
    .split(/\r\n|\r|\n/)
    .map((line) => line.replace(/[\p{Cc}\p{Default_Ignorable_Code_Point}]/gu, ''))
    .some((line) => /##(?:vso)?\[/i.test(line));
}

const HOSTILE = [
  '##vso[task.setvariable variable=PWNED]1',
  'at the end ##vso[task.prependpath]/tmp/evil',
  '##vso[task.uploadsummary]/etc/passwd',
  '##VSO[task.setsecret]RUN',
  '##[group]fake',
  'x ##[error]fake',
  '#\u200b#vso[task.setvariable variable=PWNED]1',
  '##\u0000vso[task.complete result=Succeeded]',
  '#\u2060#[endgroup]',
  '##v\u00adso[task.debug]x',
  'ok\r##vso[task.setvariable variable=PWNED]1',
  '###vso[task.setvariable variable=PWNED]1',
  '##[##vso[##[',
];

describe('agent commands in outside text', () => {
  for (const text of HOSTILE) {
    it(`are shown as text: ${JSON.stringify(text)}`, () => {
      assert.ok(agentSeesCommand(text), 'the case is one the agent would run');
      const safe = neutralizeCommands(text);
      assert.equal(agentSeesCommand(safe), false, safe);
      assert.equal(neutralizeCommands(safe), safe, 'idempotent');
      assert.equal(safe.split(/\r|\n/).length, text.split(/\r|\n/).length, 'line breaks kept');
    });
  }

  it('leave ordinary text and single # alone', () => {
    for (const text of ['#6 [2/3] RUN make', '# comment [x]', 'C# [1] vso[', '#vso[x]', '##vso', '## [x]']) {
      assert.equal(neutralizeCommands(text), text);
    }
    assert.equal(
      neutralizeCommands('##vso[task.setvariable variable=A]1'),
      '# #vso[task.setvariable variable=A]1',
    );
  });

  it('masks registered secrets first (longest first), so that neutralising cannot hide one from the agent', () => {
    const secret = 'pa##[ss-w0rd';
    const line = `x ${secret} y`;
    assert.equal(neutralizeCommands(maskSecrets(line, [secret])), 'x *** y');
    assert.equal(maskSecrets('abc-token-xyz', ['token', 'abc-token-xyz']), '***');
    assert.equal(maskSecrets('nothing', ['', 'zz']), 'nothing');
  });

  it('attachment names keep none of the characters the agent refuses in a name', () => {
    assert.equal(attachmentName('BuildKit build'), 'BuildKit build');
    assert.equal(attachmentName('a/b:c*d?"e<f>g|h\\i\nj'), 'a b c d  e f g h i j');
  });
});
