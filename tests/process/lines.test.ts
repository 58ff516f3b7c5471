import * as assert from 'node:assert/strict';
import { LineSplitter } from '../../tasks/BuildKitBuild/src/process/lines';

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
