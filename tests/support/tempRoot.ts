import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * Loaded by mocha before any test file (.mocharc.json `require`): every temporary directory the tests
 * make (os.tmpdir() reads TMPDIR) goes under one root for this test process, removed when the run ends,
 * so that repeated runs leave nothing behind in the machine's temp directory.
 */
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'bkb-tests-'));
process.env.TMPDIR = root;

export const mochaHooks = {
  afterAll(): void {
    fs.rmSync(root, { recursive: true, force: true });
  },
};
