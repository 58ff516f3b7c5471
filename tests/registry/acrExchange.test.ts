import * as assert from 'node:assert/strict';
import {
  createHttpHeaders,
  RestError,
  type HttpClient,
  type PipelineRequest,
  type PipelineResponse,
} from '@azure/core-rest-pipeline';
import * as sinon from 'sinon';
import {
  DEFAULT_RETRY,
  exchangeForRefreshToken,
  exchangeForm,
  retryDelayMs,
  type RetryNotice,
} from '../../tasks/BuildKitBuild/src/registry/acrExchange';

type Step = { status: number; body?: string; headers?: Record<string, string> } | { error: string };

/** An HttpClient that answers from a script and records the requests. */
function scripted(steps: Step[]): HttpClient & { requests: PipelineRequest[] } {
  const requests: PipelineRequest[] = [];
  return {
    requests,
    sendRequest(request: PipelineRequest): Promise<PipelineResponse> {
      requests.push(request);
      const step = steps.shift() ?? { status: 500 };
      if ('error' in step)
        return Promise.reject(new RestError(`connect ${step.error}`, { code: step.error, request }));
      return Promise.resolve({
        request,
        status: step.status,
        headers: createHttpHeaders(step.headers),
        bodyAsText: step.body ?? '',
      });
    },
  };
}

const REQUEST = { loginServer: 'myacr.azurecr.io', tenant: 'tenant-1', accessToken: 'entra-token' };
const OK = { status: 200, body: '{"refresh_token":"rt-42"}' };

describe('ACR token exchange', () => {
  let clock: sinon.SinonFakeTimers | undefined;
  afterEach(() => {
    clock?.restore();
    clock = undefined;
  });

  it('posts the form ACR expects to https://<login server>/oauth2/exchange', async () => {
    const client = scripted([OK]);
    const outcome = await exchangeForRefreshToken(REQUEST, new AbortController().signal, {
      httpClient: client,
    });
    assert.deepEqual(outcome, { kind: 'ok', refreshToken: 'rt-42' });
    const sent = client.requests[0];
    assert.equal(sent?.url, 'https://myacr.azurecr.io/oauth2/exchange');
    assert.equal(sent.method, 'POST');
    assert.equal(sent.headers.get('content-type'), 'application/x-www-form-urlencoded');
    assert.deepEqual(
      Object.fromEntries(new URLSearchParams(typeof sent.body === 'string' ? sent.body : '')),
      {
        grant_type: 'access_token',
        service: 'myacr.azurecr.io',
        tenant: 'tenant-1',
        access_token: 'entra-token',
      },
    );
    assert.equal(exchangeForm({ ...REQUEST, tenant: undefined }).includes('tenant='), false);
  });

  it('backs off exponentially on 5xx and network errors and honours Retry-After on 429 (fake timers)', async () => {
    clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const client = scripted([
      { status: 503 },
      { error: 'ECONNRESET' },
      { status: 429, headers: { 'retry-after': '7' } },
      OK,
    ]);
    const notices: RetryNotice[] = [];
    const done = exchangeForRefreshToken(REQUEST, new AbortController().signal, {
      httpClient: client,
      random: () => 0,
      onRetry: (n) => notices.push(n),
    });
    await clock.tickAsync(0);
    assert.equal(client.requests.length, 1);
    // retry 1 after 503: base 500 ms, half of it with random() = 0
    await clock.tickAsync(249);
    assert.equal(client.requests.length, 1);
    await clock.tickAsync(1);
    assert.equal(client.requests.length, 2);
    // retry 2 after ECONNRESET: 1000 ms → 500 ms
    await clock.tickAsync(499);
    assert.equal(client.requests.length, 2);
    await clock.tickAsync(1);
    assert.equal(client.requests.length, 3);
    // retry 3 after 429 with Retry-After: 7 s
    await clock.tickAsync(6_999);
    assert.equal(client.requests.length, 3);
    await clock.tickAsync(1);
    assert.deepEqual(await done, { kind: 'ok', refreshToken: 'rt-42' });
    assert.equal(client.requests.length, 4);
    assert.deepEqual(notices, [
      { attempt: 2, delayMs: 250, reason: 'HTTP 503' },
      { attempt: 3, delayMs: 500, reason: 'ECONNRESET' },
      { attempt: 4, delayMs: 7000, reason: 'HTTP 429' },
    ]);
  });

  it('stops after the bounded number of retries and returns the last answer', async () => {
    clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const client = scripted(Array.from({ length: 10 }, () => ({ status: 500, body: 'boom' })));
    const done = exchangeForRefreshToken(REQUEST, new AbortController().signal, {
      httpClient: client,
      random: () => 1,
    });
    await clock.tickAsync(60_000);
    assert.deepEqual(await done, { kind: 'failed', status: 500, detail: 'boom' });
    assert.equal(client.requests.length, DEFAULT_RETRY.maxRetries + 1);
  });

  it('retries a request that got no answer in time, as a network error, and leaves no timer behind', async () => {
    clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const requests: PipelineRequest[] = [];
    const answers = scripted([{ status: 200, body: '{"refresh_token":"rt-after-timeout"}' }]);
    const silentOnce: HttpClient = {
      sendRequest(request) {
        requests.push(request);
        if (requests.length > 1) return answers.sendRequest(request);
        // The first request never gets an answer: it ends only when its signal aborts it.
        return new Promise((_, reject) => {
          request.abortSignal?.addEventListener('abort', () => {
            const aborted = new Error('The operation was aborted.');
            aborted.name = 'AbortError';
            reject(aborted);
          });
        });
      },
    };
    const notices: RetryNotice[] = [];
    const done = exchangeForRefreshToken(REQUEST, new AbortController().signal, {
      httpClient: silentOnce,
      random: () => 1,
      onRetry: (notice) => notices.push(notice),
    });
    await clock.tickAsync(70_000);
    assert.deepEqual(await done, { kind: 'ok', refreshToken: 'rt-after-timeout' });
    assert.equal(requests.length, 2);
    assert.deepEqual(
      notices.map((n) => n.reason),
      ['ETIMEDOUT'],
    );
    assert.equal(clock.countTimers(), 0, 'no request timer left running');
  });

  it('does not retry 401/403/400: they are rejections', async () => {
    const client = scripted([{ status: 401, body: '{"errors":[{"code":"UNAUTHORIZED"}]}' }]);
    const outcome = await exchangeForRefreshToken(REQUEST, new AbortController().signal, {
      httpClient: client,
    });
    assert.deepEqual(outcome, {
      kind: 'rejected',
      status: 401,
      detail: '{"errors":[{"code":"UNAUTHORIZED"}]}',
    });
    assert.equal(client.requests.length, 1);
  });

  it('throws a network error that outlives the retries, and does not retry TLS errors', async () => {
    clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const refused = scripted(Array.from({ length: 10 }, () => ({ error: 'ECONNREFUSED' })));
    const done = exchangeForRefreshToken(REQUEST, new AbortController().signal, { httpClient: refused });
    const settled = done.then(
      () => 'resolved',
      (e: unknown) => (e as RestError).code,
    );
    await clock.tickAsync(60_000);
    assert.equal(await settled, 'ECONNREFUSED');
    assert.equal(refused.requests.length, DEFAULT_RETRY.maxRetries + 1);
    clock.restore();
    clock = undefined;
    const tls = scripted([{ error: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' }]);
    await assert.rejects(exchangeForRefreshToken(REQUEST, new AbortController().signal, { httpClient: tls }));
    assert.equal(tls.requests.length, 1);
  });

  it('treats a 200 without refresh_token as a failure', async () => {
    const client = scripted([{ status: 200, body: '{"access_token":"x"}' }]);
    const outcome = await exchangeForRefreshToken(REQUEST, new AbortController().signal, {
      httpClient: client,
    });
    assert.equal(outcome.kind, 'failed');
  });
});

describe('retryDelayMs', () => {
  const s = DEFAULT_RETRY;
  const now = Date.parse('2026-01-01T00:00:00Z');
  it('computes the backoff and honours (and caps) Retry-After', () => {
    assert.equal(
      retryDelayMs({ retryCount: 0, status: 503 }, s, () => 1, now),
      500,
    );
    assert.equal(
      retryDelayMs({ retryCount: 3, status: 502 }, s, () => 1, now),
      4000,
    );
    assert.equal(
      retryDelayMs({ retryCount: 5, status: 502 }, { ...s, maxRetries: 9 }, () => 1, now),
      8000,
    );
    assert.equal(
      retryDelayMs({ retryCount: 0, status: 429, retryAfter: '2' }, s, () => 0, now),
      2000,
    );
    assert.equal(
      retryDelayMs(
        { retryCount: 0, status: 503, retryAfter: 'Thu, 01 Jan 2026 00:00:30 GMT' },
        s,
        () => 0,
        now,
      ),
      30_000,
    );
    assert.equal(
      retryDelayMs({ retryCount: 0, status: 429, retryAfter: '3600' }, s, () => 0, now),
      30_000,
    );
    assert.equal(
      retryDelayMs({ retryCount: 0, status: 429 }, s, () => 0, now),
      250,
    );
  });
  it('stops on other answers and after maxRetries', () => {
    for (const status of [200, 400, 401, 403, 404, 501, 505]) {
      assert.equal(
        retryDelayMs({ retryCount: 0, status }, s, () => 0, now),
        undefined,
        String(status),
      );
    }
    assert.equal(
      retryDelayMs({ retryCount: s.maxRetries, status: 503 }, s, () => 0, now),
      undefined,
    );
    assert.equal(
      retryDelayMs({ retryCount: 0, errorCode: 'CERT_HAS_EXPIRED' }, s, () => 0, now),
      undefined,
    );
  });
});
