import * as assert from 'node:assert/strict';
import { LineSplitter, safeCut } from '../../tasks/BuildKitBuild/src/process/lines';

describe('the line splitter', () => {
  it('joins lines split across chunks, and returns complete lines at once', () => {
    const splitter = new LineSplitter();
    assert.deepEqual(splitter.push('#1 [internal] load'), []);
    assert.deepEqual(splitter.push(' build definition\n#1 DO'), ['#1 [internal] load build definition']);
    assert.deepEqual(splitter.push('NE 0.1s\n\n#2 x\r\n'), ['#1 DONE 0.1s', '', '#2 x']);
    assert.deepEqual(splitter.end(), []);
  });

  it('keeps a multi-byte character split across two chunks', () => {
    const splitter = new LineSplitter();
    const bytes = Buffer.from('#6 0.1 héllo ✓\n');
    const cut = bytes.indexOf(0x9c) - 1; // inside the three bytes of ✓
    assert.deepEqual(splitter.push(bytes.subarray(0, cut)), []);
    assert.deepEqual(splitter.push(bytes.subarray(cut)), ['#6 0.1 héllo ✓']);
  });

  it('passes on an over-long line in bounded pieces, and the last line without a newline at the end', () => {
    const splitter = new LineSplitter(10);
    assert.deepEqual(splitter.push('abcdefghijklmnopqrstuvwxyz'), ['abcdefghij', 'klmnopqrst']);
    assert.deepEqual(splitter.end(), ['uvwxyz']);
  });
});

describe('long lines cut into pieces never cut a registered secret', () => {
  const secret = 'npm_Zq8yT3xV1-secret';

  it('at every offset of the secret across the cut', () => {
    const max = 64;
    for (let offset = 0; offset < 80; offset++) {
      const line = `${'x'.repeat(offset)}${secret}${'y'.repeat(200)}`;
      const splitter = new LineSplitter(max, () => [secret]);
      const pieces = [...splitter.push(line), ...splitter.end()];
      assert.equal(pieces.join(''), line, 'nothing lost');
      assert.ok(
        pieces.some((p) => p.includes(secret)),
        `offset ${offset}: the secret is whole in one piece: ${JSON.stringify(pieces)}`,
      );
      assert.ok(
        pieces.every((p) => p.length <= max + secret.length),
        'a piece is at most max plus the longest secret',
      );
    }
  });

  it('also when the secret arrives in two chunks, and when it is longer than a piece', () => {
    const splitter = new LineSplitter(16, () => [secret]);
    const pieces = [
      ...splitter.push(`${'y'.repeat(10)}${secret.slice(0, 6)}`),
      ...splitter.push(`${secret.slice(6)}${'z'.repeat(40)}`),
      ...splitter.end(),
    ];
    assert.ok(pieces.includes(secret), JSON.stringify(pieces));
    assert.equal(safeCut(`${secret}abc`, 5, [secret]), secret.length);
    assert.equal(safeCut(secret.slice(0, 8), 5, [secret]), undefined, 'waits for the rest');
    assert.equal(safeCut('abcdefghij', 5, []), 5);
  });

  it('memory stays bounded: a 2 MB line without newline is passed on in pieces', () => {
    const splitter = new LineSplitter(64 * 1024, () => [secret]);
    let longestPiece = 0;
    for (let i = 0; i < 64; i++) {
      for (const piece of splitter.push(`${'q'.repeat(32 * 1024 - secret.length)}${secret}`)) {
        longestPiece = Math.max(longestPiece, piece.length);
      }
    }
    assert.ok(longestPiece <= 64 * 1024 + secret.length, String(longestPiece));
  });
});
