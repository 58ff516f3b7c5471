import * as assert from 'node:assert/strict';
import {
  createHttpHeaders,
  createPipelineRequest,
  RestError,
  type HttpClient,
  type PipelineRequest,
} from '@azure/core-rest-pipeline';
import * as sinon from 'sinon';
import { CancelledError, untilCancelled } from '../../tasks/BuildKitBuild/src/core/cancellation';
import {
  boundedHttpClient,
  cutRetryAfter,
  endpointOf,
  errorAnswerOf,
  type HttpTrace,
  type RetryAfterCut,
} from '../../tasks/BuildKitBuild/src/registry/httpBounds';
import { sdkProxySettings } from '../../tasks/BuildKitBuild/src/registry/proxySettings';

const now = Date.parse('2026-01-01T00:00:00Z');

describe('cutRetryAfter', () => {
  const rows: {
    what: string;
    status: number;
    headers: Record<string, string>;
    asked: number | undefined;
    after: Record<string, string>;
  }[] = [
    {
      what: '429, Retry-After: 3600 (seconds)',
      status: 429,
      headers: { 'retry-after': '3600' },
      asked: 3_600_000,
      after: { 'retry-after': '5' },
    },
    {
      what: '503, Retry-After as an HTTP date an hour ahead',
      status: 503,
      headers: { 'retry-after': 'Thu, 01 Jan 2026 01:00:00 GMT' },
      asked: 3_600_000,
      after: { 'retry-after': '5' },
    },
    {
      what: '429, retry-after-ms and Retry-After both too long',
      status: 429,
      headers: { 'retry-after-ms': '900000', 'retry-after': '900' },
      asked: 900_000,
      after: { 'retry-after-ms': '5000', 'retry-after': '5' },
    },
    {
      what: '429, x-ms-retry-after-ms too long',
      status: 429,
      headers: { 'x-ms-retry-after-ms': '120000' },
      asked: 120_000,
      after: { 'x-ms-retry-after-ms': '5000' },
    },
    {
      what: '429 within the bound',
      status: 429,
      headers: { 'retry-after': '2' },
      asked: undefined,
      after: { 'retry-after': '2' },
    },
    {
      what: '500 (the libraries ignore its Retry-After)',
      status: 500,
      headers: { 'retry-after': '3600' },
      asked: undefined,
      after: { 'retry-after': '3600' },
    },
    {
      what: '429 without Retry-After',
      status: 429,
      headers: {},
      asked: undefined,
      after: {},
    },
  ];
  for (const row of rows) {
    it(`${row.what}: ${row.asked === undefined ? 'left alone' : 'cut to 5 s'}`, () => {
      const headers = createHttpHeaders(row.headers);
      const cut = cutRetryAfter(row.status, headers, 5000, now);
      assert.deepEqual(cut, row.asked === undefined ? undefined : { askedMs: row.asked });
      assert.deepEqual(headers.toJSON(), row.after);
    });
  }
});

describe('errorAnswerOf', () => {
  it('reads OAuth and Azure DevOps error answers, first line only, and plain text', () => {
    assert.deepEqual(
      errorAnswerOf(
        JSON.stringify({
          error: 'invalid_client',
          error_description:
            'AADSTS7000215: Invalid client secret provided.\r\nTrace ID: 1\r\nCorrelation ID: 2',
        }),
      ),
      { error: 'invalid_client', description: 'AADSTS7000215: Invalid client secret provided.' },
    );
    assert.deepEqual(errorAnswerOf('{"message":"TF400813: not authorized."}'), {
      description: 'TF400813: not authorized.',
    });
    assert.deepEqual(errorAnswerOf('<html>Bad   gateway</html>'), {
      description: '<html>Bad gateway</html>',
    });
    assert.deepEqual(errorAnswerOf(''), {});
    assert.deepEqual(errorAnswerOf('[1]'), {});
  });
});

describe('endpointOf', () => {
  it('keeps scheme, host and path, never the query', () => {
    assert.equal(
      endpointOf('https://dev.azure.com/org/_apis/oidctoken?api-version=7.1&serviceConnectionId=x'),
      'https://dev.azure.com/org/_apis/oidctoken',
    );
    assert.equal(endpointOf('not a url'), '(unreadable URL)');
  });
});

/** A client whose requests never get an answer: each ends only when its signal aborts it. */
function silent(): HttpClient & { requests: PipelineRequest[] } {
  const requests: PipelineRequest[] = [];
  return {
    requests,
    sendRequest(request) {
      requests.push(request);
      return new Promise((_, reject) => {
        request.abortSignal?.addEventListener('abort', () => {
          const aborted = new Error('The operation was aborted.');
          aborted.name = 'AbortError';
          reject(aborted);
        });
      });
    },
  };
}

describe('boundedHttpClient', () => {
  let clock: sinon.SinonFakeTimers | undefined;
  afterEach(() => {
    clock?.restore();
    clock = undefined;
  });

  const request = (url = 'https://login.example/t/oauth2/v2.0/token?x=1'): PipelineRequest =>
    createPipelineRequest({ url, method: 'POST' });

  it('ends an attempt without an answer after the bound, as a retryable ETIMEDOUT naming the endpoint (fake timers)', async () => {
    clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const trace: HttpTrace = {};
    const client = boundedHttpClient(silent(), {
      bounds: { attemptTimeoutMs: 5000 },
      signal: new AbortController().signal,
      trace,
      RestError,
    });
    const own = new AbortController().signal;
    const sent = request();
    sent.abortSignal = own;
    const outcome = client.sendRequest(sent).then(
      () => undefined,
      (e: unknown) => e,
    );
    await clock.tickAsync(4999);
    assert.equal(trace.last, undefined, 'still waiting');
    await clock.tickAsync(1);
    const error = (await outcome) as RestError;
    assert.ok(error instanceof RestError);
    assert.equal(error.code, 'ETIMEDOUT');
    assert.match(
      error.message,
      /no answer from https:\/\/login\.example\/t\/oauth2\/v2\.0\/token within 5 s/,
    );
    assert.deepEqual(trace.last, {
      kind: 'timedOut',
      endpoint: 'https://login.example/t/oauth2/v2.0/token',
      timeoutMs: 5000,
    });
    assert.equal(sent.abortSignal, own, "the request's own signal is given back");
    assert.equal(clock.countTimers(), 0, 'no timer left running');
  });

  it('ends an attempt in flight when the run is cancelled, and does not call that a timeout', async () => {
    const trace: HttpTrace = {};
    const run = new AbortController();
    const base = silent();
    const client = boundedHttpClient(base, {
      bounds: { attemptTimeoutMs: 3_600_000 },
      signal: run.signal,
      trace,
      RestError,
    });
    const pending = client.sendRequest(request());
    run.abort('SIGTERM');
    await assert.rejects(pending, (e: Error) => e.name === 'AbortError');
    assert.equal(trace.last, undefined);
    assert.equal(base.requests.length, 1);
  });

  it('records an error answer without its body beyond the error, and cuts a long Retry-After, saying so', async () => {
    const trace: HttpTrace = {};
    const cuts: RetryAfterCut[] = [];
    const answering: HttpClient = {
      sendRequest: (sent) =>
        Promise.resolve({
          request: sent,
          status: 429,
          headers: createHttpHeaders({ 'retry-after': '3600' }),
          bodyAsText: '{"error":"temporarily_unavailable","error_description":"slow down"}',
        }),
    };
    const client = boundedHttpClient(answering, {
      bounds: { attemptTimeoutMs: 7000 },
      signal: new AbortController().signal,
      trace,
      RestError,
      onRetryAfterCut: (cut) => cuts.push(cut),
    });
    const response = await client.sendRequest(request());
    assert.equal(response.headers.get('retry-after'), '7', 'what the retry policies will read');
    assert.deepEqual(cuts, [
      { endpoint: 'https://login.example/t/oauth2/v2.0/token', askedMs: 3_600_000, waitMs: 7000 },
    ]);
    assert.deepEqual(trace.last, {
      kind: 'answered',
      endpoint: 'https://login.example/t/oauth2/v2.0/token',
      status: 429,
      error: 'temporarily_unavailable',
      description: 'slow down',
    });
  });

  it('records a refused connection as unreachable, with its code', async () => {
    const trace: HttpTrace = {};
    const refusing: HttpClient = {
      sendRequest: (sent) =>
        Promise.reject(
          new RestError('connect ECONNREFUSED 10.0.0.1:443', { code: 'ECONNREFUSED', request: sent }),
        ),
    };
    const client = boundedHttpClient(refusing, {
      bounds: { attemptTimeoutMs: 1000 },
      signal: new AbortController().signal,
      trace,
      RestError,
    });
    await assert.rejects(client.sendRequest(request()), /ECONNREFUSED/);
    assert.deepEqual(trace.last, {
      kind: 'unreachable',
      endpoint: 'https://login.example/t/oauth2/v2.0/token',
      detail: 'connect ECONNREFUSED 10.0.0.1:443',
    });
  });
});

describe('untilCancelled', () => {
  it('passes results and errors through, and rejects with CancelledError when the signal aborts first', async () => {
    const run = new AbortController();
    assert.equal(await untilCancelled(Promise.resolve(42), run.signal), 42);
    await assert.rejects(untilCancelled(Promise.reject(new Error('boom')), run.signal), /boom/);
    const never = new Promise<number>(() => undefined);
    const raced = untilCancelled(never, run.signal);
    run.abort('SIGINT');
    await assert.rejects(raced, (e: unknown) => e instanceof CancelledError && e.signal === 'SIGINT');
    await assert.rejects(untilCancelled(never, run.signal), CancelledError);
  });
});

describe('sdkProxySettings', () => {
  it('percent-encodes the credentials so that the proxy URL the SDK builds decodes back to them', () => {
    for (const password of ['p%41ss', '%zz', 'a@b:c/d?e#f', 'plain', 'ünï cødé %']) {
      const settings = sdkProxySettings({
        host: 'http://proxy.corp',
        port: 3128,
        username: 'dom\\us@r',
        password,
      });
      // What @typespec/ts-http-runtime's proxy policy does with them, then https-proxy-agent.
      const url = new URL(settings?.host ?? '');
      url.username = settings?.username ?? '';
      url.password = settings?.password ?? '';
      assert.equal(decodeURIComponent(url.password), password);
      assert.equal(decodeURIComponent(url.username), 'dom\\us@r');
    }
    assert.equal(sdkProxySettings(undefined), undefined);
    assert.deepEqual(sdkProxySettings({ host: 'http://p', port: 80 }), { host: 'http://p', port: 80 });
  });
});
