import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as sinon from 'sinon';
import { CancelledError } from '../../tasks/BuildKitBuild/src/core/cancellation';
import {
  abortableSleep,
  backoffDelayMs,
  DownloadFailure,
  downloadWithRetries,
  isRetryable,
  type DownloadDeps,
  type RetryPolicy,
} from '../../tasks/BuildKitBuild/src/tool/download';
import { fetchToFile } from '../../tasks/BuildKitBuild/src/tool/fetchFile';
import { makeContext } from '../support/fakeContext';

const URL_ = 'http://127.0.0.1:9/releases/v0.32.2/buildkit-v0.32.2.linux-amd64.tar.gz';
const POLICY: RetryPolicy = { attempts: 4, firstDelayMs: 1000, maxDelayMs: 8000 };

describe('tool: download retries', () => {
  let clock: sinon.SinonFakeTimers;
  let dir: string;
  beforeEach(() => {
    clock = sinon.useFakeTimers();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bkb-dl-'));
  });
  afterEach(() => {
    clock.restore();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** A fetch that fails with the given outcomes in turn, then writes the file. */
  function scripted(outcomes: (Error | 'ok')[]): { deps: DownloadDeps; calls: number[] } {
    const calls: number[] = [];
    const deps: DownloadDeps = {
      fetch: (_url, file) => {
        calls.push(Date.now());
        const outcome = outcomes.shift() ?? 'ok';
        fs.writeFileSync(file, 'partial');
        return outcome === 'ok' ? Promise.resolve() : Promise.reject(outcome);
      },
      sleep: abortableSleep,
    };
    return { deps, calls };
  }
  const fileFor = (attempt: number) => path.join(dir, `a-${attempt}`);

  it('waits 1 s, then 2 s between attempts, and returns the attempt that worked', async () => {
    const ctx = makeContext();
    const { deps, calls } = scripted([
      new DownloadFailure('HTTP 500', { status: 500 }),
      new DownloadFailure('aborted', { interrupted: true }),
    ]);
    const done = downloadWithRetries(URL_, fileFor, POLICY, deps, ctx, new AbortController().signal);
    await clock.tickAsync(999);
    assert.equal(calls.length, 1);
    await clock.tickAsync(1);
    assert.equal(calls.length, 2);
    await clock.tickAsync(1999);
    assert.equal(calls.length, 2);
    await clock.tickAsync(1);
    assert.equal(await done, fileFor(3));
    assert.deepEqual(calls, [0, 1000, 3000]);
    assert.deepEqual(fs.readdirSync(dir), ['a-3'], 'failed attempts leave no partial files');
    assert.equal(ctx.recorded.infos.length, 2);
    assert.match(ctx.recorded.infos[0] ?? '', /attempt 1 of 4: HTTP 500\); retrying in 1000 ms/);
  });

  it('does not retry a 404 and says which inputs to check', async () => {
    const ctx = makeContext();
    const { deps, calls } = scripted([new DownloadFailure('HTTP 404', { status: 404 })]);
    await assert.rejects(
      downloadWithRetries(URL_, fileFor, POLICY, deps, ctx, new AbortController().signal),
      {
        message: `There is no BuildKit release archive at ${URL_} (HTTP 404). Check buildctlVersion (is it a BuildKit release?) and buildkitDownloadUrl (does the mirror hold that release?).`,
      },
    );
    assert.equal(calls.length, 1);
  });

  it('gives up on an unreachable server after every attempt, naming the URL and buildkitDownloadUrl', async () => {
    const ctx = makeContext();
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' });
    const { deps, calls } = scripted([refused, refused, refused, refused, refused]);
    const done = downloadWithRetries(URL_, fileFor, POLICY, deps, ctx, new AbortController().signal);
    const outcome = assert.rejects(done, (error: Error) => {
      assert.ok(error.message.startsWith(`Cannot download ${URL_} (4 attempt(s)): connect ECONNREFUSED`));
      assert.match(error.message, /set buildkitDownloadUrl to a mirror it can reach/);
      return true;
    });
    await clock.tickAsync(1000 + 2000 + 4000);
    await outcome;
    assert.deepEqual(calls, [0, 1000, 3000, 7000]);
  });

  it('reports a server that keeps failing with its status', async () => {
    const ctx = makeContext();
    const { deps } = scripted([1, 2, 3, 4].map(() => new DownloadFailure('HTTP 503', { status: 503 })));
    const outcome = assert.rejects(
      downloadWithRetries(URL_, fileFor, POLICY, deps, ctx, new AbortController().signal),
      { message: /failed after 4 attempt\(s\) with HTTP 503/ },
    );
    await clock.tickAsync(7000);
    await outcome;
  });

  it('stops waiting when the run is cancelled', async () => {
    const ctx = makeContext();
    const cancel = new AbortController();
    const { deps, calls } = scripted([new DownloadFailure('HTTP 500', { status: 500 })]);
    const outcome = assert.rejects(
      downloadWithRetries(URL_, fileFor, POLICY, deps, ctx, cancel.signal),
      CancelledError,
    );
    await clock.tickAsync(500);
    cancel.abort('SIGTERM');
    await outcome;
    await clock.tickAsync(5000);
    assert.equal(calls.length, 1);
  });

  it('doubles the wait up to its ceiling', () => {
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6].map((n) => backoffDelayMs(POLICY, n)),
      [1000, 2000, 4000, 8000, 8000, 8000],
    );
  });

  it('retries server errors, throttling and network errors, not client errors', () => {
    const statuses = [undefined, 500, 502, 503, 408, 429, 400, 401, 403, 404, 410];
    assert.deepEqual(
      statuses.map((s) => isRetryable(s)),
      [true, true, true, true, true, true, false, false, false, false, false],
    );
  });
});

describe('tool: one download attempt over HTTP', () => {
  let server: http.Server;
  let base: string;
  let dir: string;
  const body = Buffer.alloc(64 * 1024, 7);
  before(async () => {
    server = http.createServer((request, response) => {
      if (request.url === '/ok') response.writeHead(200, { 'content-length': body.length }).end(body);
      else if (request.url === '/cut') {
        response.writeHead(200, { 'content-length': body.length });
        response.write(body.subarray(0, 1000), () => response.socket?.destroy());
      } else response.writeHead(404).end('Not Found');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.close();
  });
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bkb-fetch-'));
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const get = (url: string) =>
    new Promise<http.IncomingMessage>((resolve, reject) => {
      http.get(url, resolve).on('error', reject);
    });

  it('streams a 200 into the file', async () => {
    const file = path.join(dir, 'ok');
    await fetchToFile(get, `${base}/ok`, file, new AbortController().signal);
    assert.deepEqual(fs.readFileSync(file), body);
  });

  it('fails with the status of other answers', async () => {
    await assert.rejects(
      fetchToFile(get, `${base}/missing`, path.join(dir, 'x'), new AbortController().signal),
      {
        name: 'DownloadFailure',
        status: 404,
        interrupted: false,
      },
    );
  });

  it('fails as interrupted when the body breaks off', async () => {
    await assert.rejects(fetchToFile(get, `${base}/cut`, path.join(dir, 'x'), new AbortController().signal), {
      name: 'DownloadFailure',
      status: undefined,
      interrupted: true,
    });
  });

  it('stops waiting for a server that has not answered yet as soon as the run is cancelled', async () => {
    const cancel = new AbortController();
    const neverAnswers = () => new Promise<http.IncomingMessage>(() => undefined);
    const attempt = fetchToFile(neverAnswers, `${base}/slow`, path.join(dir, 'slow'), cancel.signal);
    cancel.abort('SIGTERM');
    await assert.rejects(attempt, (error: unknown) => error instanceof CancelledError);
    assert.equal(fs.existsSync(path.join(dir, 'slow')), false);
  });

  it('never overwrites an existing file', async () => {
    const file = path.join(dir, 'taken');
    fs.writeFileSync(file, 'mine');
    await assert.rejects(fetchToFile(get, `${base}/ok`, file, new AbortController().signal));
    assert.equal(fs.readFileSync(file, 'utf8'), 'mine');
  });
});
