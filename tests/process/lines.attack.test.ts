import * as assert from 'node:assert/strict';
import { LineSplitter } from '../../tasks/BuildKitBuild/src/process/lines';

/**
 * A line without end whose every cut point lies inside some occurrence of a registered secret (the secret's
 * occurrences overlap or touch, as a run of one character does for a secret made of it): the splitter must
 * still pass it on in bounded pieces, with every whole secret masked, instead of holding it all.
 */
describe('long lines tiled with a registered secret', () => {
  const MAX = 1024;
  for (const [secret, unit] of [
    ['00000000', '0'],
    ['abab', 'ab'],
    ['xyzxyzxy', 'xyz'],
  ] as const) {
    it(`are cut into bounded pieces for the secret ${JSON.stringify(secret)}`, () => {
      const splitter = new LineSplitter(MAX, () => [secret]);
      const pieces: string[] = [];
      for (let i = 0; i < 50; i++) pieces.push(...splitter.push(unit.repeat(1000)));
      const held = pieces.length;
      pieces.push(...splitter.end());
      assert.ok(held > 1, 'pieces were passed on before the end of the stream');
      for (const piece of pieces) {
        assert.ok(piece.length <= MAX + secret.length, `a piece of ${piece.length} characters`);
      }
      // No occurrence of the secret spans a cut (the agent masks each piece on its own).
      const tail = secret.length - 1;
      pieces.slice(1).forEach((piece, i) => {
        const window = `${(pieces[i] ?? '').slice(-tail)}${piece.slice(0, tail)}`;
        const before = Math.min(tail, (pieces[i] ?? '').length);
        for (let at = window.indexOf(secret); at >= 0; at = window.indexOf(secret, at + 1)) {
          assert.ok(at >= before || at + secret.length <= before, `a secret spans cut ${i + 1}`);
        }
      });
    });
  }
});
