import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { CancelledError } from '../../tasks/BuildKitBuild/src/core/cancellation';
import { downloadWithRetries, type DownloadDeps } from '../../tasks/BuildKitBuild/src/tool/download';
import { fetchToFile } from '../../tasks/BuildKitBuild/src/tool/fetchFile';
import { resolveBuildctl } from '../../tasks/BuildKitBuild/src/tool/install';
import { asWriteError, WriteError } from '../../tasks/BuildKitBuild/src/tool/writeError';
import { makeContext } from '../support/fakeContext';

const errno = (code: string) => Object.assign(new Error(`${code}: failed, write`), { code });

describe('tool: failures to write name the directory', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bkb-write-'));
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  for (const [code, problem] of [
    ['ENOSPC', 'full'],
    ['EDQUOT', 'full'],
    ['EROFS', 'notWritable'],
    ['EACCES', 'notWritable'],
    ['EPERM', 'notWritable'],
    ['ENOENT', 'notWritable'],
    ['ENOTDIR', 'notWritable'],
  ] as const) {
    it(`${code} is a ${problem} directory`, () => {
      const error = asWriteError(errno(code), dir);
      assert.ok(error instanceof WriteError);
      assert.equal(error.problem, problem);
      assert.equal(error.dir, dir);
    });
  }

  it('leaves other errors, and cancellation, to their callers', () => {
    assert.equal(asWriteError(errno('ECONNRESET'), dir), undefined);
    assert.equal(asWriteError(new Error('tar failed with exit code 2'), dir), undefined, 'the disk has room');
    assert.equal(asWriteError(new CancelledError('SIGTERM'), dir), undefined);
  });

  it('a download whose file cannot be written is a WriteError, not a network failure', async () => {
    const server = http.createServer((_request, response) => {
      response.writeHead(200, { 'content-length': 3 }).end('abc');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/a.tgz`;
      const get = (u: string) =>
        new Promise<http.IncomingMessage>((resolve, reject) => {
          http.get(u, resolve).on('error', reject);
        });
      const gone = path.join(dir, 'removed', 'a.tgz');
      await assert.rejects(fetchToFile(get, url, gone, new AbortController().signal), (error: unknown) => {
        assert.ok(error instanceof WriteError, String(error));
        assert.equal(error.dir, path.dirname(gone));
        return true;
      });
    } finally {
      server.close();
    }
  });

  it('is not retried: retries do not free a disk', async () => {
    let attempts = 0;
    const deps: DownloadDeps = {
      fetch: () => {
        attempts++;
        return Promise.reject(new WriteError(dir, 'full', errno('ENOSPC')));
      },
      sleep: () => Promise.resolve(),
    };
    await assert.rejects(
      downloadWithRetries(
        'http://127.0.0.1:9/a.tgz',
        (n) => path.join(dir, `a-${n}`),
        { attempts: 4, firstDelayMs: 0, maxDelayMs: 0 },
        deps,
        makeContext(),
        new AbortController().signal,
      ),
      WriteError,
    );
    assert.equal(attempts, 1);
  });

  it('a tool cache that cannot be created (a dangling link) names the directory and the fix, not a bare ENOENT', async () => {
    const toolsDir = path.join(dir, 'tools');
    fs.symlinkSync(path.join(dir, 'missing'), toolsDir);
    const ctx = makeContext({
      variables: { 'Agent.ToolsDirectory': toolsDir, 'Agent.TempDirectory': dir },
      platform: 'linux',
      arch: 'x64',
    });
    const neverCalled = () => Promise.reject(new Error('unused'));
    await assert.rejects(
      resolveBuildctl(
        { version: '0.32.2', sha256: undefined, downloadUrl: 'http://127.0.0.1:9/releases' },
        ctx,
        new AbortController().signal,
        {
          findOnPath: () => undefined,
          probe: neverCalled,
          toolCache: () =>
            Promise.resolve({
              find: () => undefined,
              download: neverCalled,
              extractTar: neverCalled,
              cacheDir: neverCalled,
              prependPath: () => undefined,
            }),
          sleep: () => Promise.resolve(),
          retry: { attempts: 1, firstDelayMs: 0, maxDelayMs: 0 },
          lockTiming: { pollMs: 1, refreshMs: 10_000, maxWaitMs: 1000 },
        },
      ),
      {
        message: new RegExp(
          `^The agent's tool cache cannot be written: ${path.join(toolsDir, 'buildkit', '0.32.2')} \\(ENOENT: .*\\)\\. Make Agent\\.ToolsDirectory writable by the agent's user`,
        ),
      },
    );
  });
});
