import * as assert from 'node:assert/strict';
import { neutralizeCommands } from '../../tasks/BuildKitBuild/src/core/agentText';

/**
 * The agent finds `##vso[` with a culture-sensitive search (ICU on Linux and macOS agents), which skips every
 * character the collation ignores at full strength. Which characters those are is ICU's data, not a Unicode
 * property: Hebrew and Arabic marks, Vedic signs, musical symbols, … This takes the set from ICU itself
 * (Node's Intl.Collator at variant sensitivity, the strength of a culture-sensitive IndexOf without options),
 * so that the neutralising is checked against every such character, not a list we thought of.
 */
function icuIgnorables(): string[] {
  const collator = new Intl.Collator('en', { sensitivity: 'variant', usage: 'search' });
  const found: string[] = [];
  for (let cp = 0; cp <= 0x10ffff; cp++) {
    if ((cp >= 0xd800 && cp <= 0xdfff) || cp === 0x0a || cp === 0x0d) continue;
    const c = String.fromCodePoint(cp);
    if (collator.compare(`#${c}#`, '##') === 0) found.push(c);
  }
  return found;
}

describe('agent commands disguised with characters ICU ignores', () => {
  const ignorables = icuIgnorables();
  const ignorable = new Set(ignorables);
  /** The line as the agent's search sees it: ignorable characters gone. */
  const asSearched = (line: string) => Array.from(line, (c) => (ignorable.has(c) ? '' : c)).join('');

  it('ICU ignores more than controls and default-ignorable code points (the case is real)', () => {
    const beyond = ignorables.filter((c) => !/[\p{Cc}\p{Default_Ignorable_Code_Point}]/u.test(c));
    assert.ok(ignorables.length > 100 && beyond.length > 0, `${ignorables.length} / ${beyond.length}`);
  });

  for (const [name, wrap] of [
    ['between the two #', (c: string) => `x #${c}#vso[task.setvariable variable=PWNED]1`],
    ['inside vso', (c: string) => `##v${c}s${c}o${c}[task.prependpath]/tmp/evil`],
    ['before a formatting command', (c: string) => `#${c}${c}#[group]fake`],
  ] as const) {
    it(`are shown as text with any of them ${name}`, () => {
      const missed = ignorables.filter((c) => {
        const line = wrap(c);
        assert.match(asSearched(line), /##(?:vso)?\[/, 'the agent would run the line');
        return /##(?:vso)?\[/i.test(asSearched(neutralizeCommands(line)));
      });
      assert.deepEqual(
        missed.map((c) => `U+${(c.codePointAt(0) ?? 0).toString(16).toUpperCase()}`),
        [],
      );
    });
  }

  it('leaves text with a single # and other scripts alone', () => {
    for (const text of ['C# \u05d0\u0591 [x]', '#\u0591 vso[', 'é#vso['])
      assert.equal(neutralizeCommands(text), text);
  });
});
