import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import {
  createHttpHeaders,
  type HttpClient,
  type PipelineRequest,
  type PipelineResponse,
} from '@azure/core-rest-pipeline';
import { RegistryClient, RegistryError } from '../../tasks/BuildKitBuild/src/oci/registryClient';
import { createTestPki, type TestPki } from '../support/servers/pki';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const FAST = { maxRetries: 2, baseDelayMs: 1, maxDelayMs: 2, maxRetryAfterMs: 5 };
const HOST = 'registry.example';
const REALM = `https://${HOST}/oauth2/token`;
const sha = (text: string): string => `sha256:${createHash('sha256').update(text).digest('hex')}`;

interface Seen {
  readonly method: string;
  readonly url: string;
  readonly authorization: string | undefined;
}

/**
 * A registry scripted in memory: tokens `t1`, `t2`, ... from the realm; `/v2/` accepts only the newest
 * token and only `uses` times, after which that token has expired (401 with the same challenge).
 */
function expiringRegistry(
  manifests: Record<string, string>,
  uses: number,
): { client: HttpClient; seen: Seen[] } {
  const seen: Seen[] = [];
  let issued = 0;
  let left = 0;
  const reply = (
    request: PipelineRequest,
    status: number,
    body: string,
    headers: Record<string, string> = {},
  ) =>
    ({ request, status, headers: createHttpHeaders(headers), bodyAsText: body }) satisfies PipelineResponse;
  const client: HttpClient = {
    sendRequest: (request) => {
      const authorization = request.headers.get('authorization');
      seen.push({ method: request.method, url: request.url, authorization });
      const url = new URL(request.url);
      if (url.pathname === '/oauth2/token') {
        issued += 1;
        left = uses;
        return Promise.resolve(reply(request, 200, JSON.stringify({ access_token: `t${issued}` })));
      }
      const reference = url.pathname.split('/').pop() ?? '';
      if (authorization !== `Bearer t${issued}` || left <= 0) {
        return Promise.resolve(
          reply(request, 401, '{"errors":[{"code":"UNAUTHORIZED","message":"token expired"}]}', {
            'WWW-Authenticate': `Bearer realm="${REALM}",service="${HOST}",scope="repository:team/app:pull"`,
          }),
        );
      }
      left -= 1;
      const text = manifests[reference];
      return Promise.resolve(
        text === undefined
          ? reply(request, 404, '')
          : reply(request, 200, text, { 'Content-Type': OCI_MANIFEST }),
      );
    },
  };
  return { client, seen };
}

describe('RegistryClient under attack: tokens', () => {
  const signal = new AbortController().signal;

  it('a token that expires (401 on a later request) is replaced by a new one from the realm', async () => {
    const a = JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: {}, layers: [], n: 1 });
    const b = JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: {}, layers: [], n: 2 });
    const registry = expiringRegistry({ [sha(a)]: a, [sha(b)]: b }, 1);
    const secrets: string[] = [];
    const client = new RegistryClient({
      apiHost: HOST,
      auth: { kind: 'refreshToken', refreshToken: 'rt-1' },
      httpClient: registry.client,
      retry: FAST,
      onSecret: (value) => secrets.push(value),
    });
    assert.equal((await client.getManifest('team/app', sha(a), signal)).text, a);
    assert.equal((await client.getManifest('team/app', sha(b), signal)).text, b);
    assert.deepEqual(
      registry.seen.map((s) => `${s.method} ${new URL(s.url).pathname} ${s.authorization ?? '-'}`),
      [
        `GET /v2/team/app/manifests/${sha(a)} -`,
        'POST /oauth2/token -',
        `GET /v2/team/app/manifests/${sha(a)} Bearer t1`,
        `GET /v2/team/app/manifests/${sha(b)} Bearer t1`,
        'POST /oauth2/token -',
        `GET /v2/team/app/manifests/${sha(b)} Bearer t2`,
      ],
    );
    assert.deepEqual(secrets, ['t1', 't2']);
  });

  it('a fresh token refused at once is not asked for again and again: one new token, then the error', async () => {
    const a = JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: {}, layers: [] });
    const registry = expiringRegistry({ [sha(a)]: a }, 0);
    const client = new RegistryClient({
      apiHost: HOST,
      auth: { kind: 'refreshToken', refreshToken: 'rt-1' },
      httpClient: registry.client,
      retry: FAST,
    });
    await assert.rejects(
      client.getManifest('team/app', sha(a), signal),
      (error: unknown) => error instanceof RegistryError && error.status === 401,
    );
    assert.equal(registry.seen.filter((s) => s.url === REALM).length, 1);
  });
});

/** A scripted party on any host: each request gets the reply of the first rule that matches its URL. */
function scripted(rules: [RegExp, number, string, Record<string, string>?][]): {
  client: HttpClient;
  seen: Seen[];
} {
  const seen: Seen[] = [];
  const client: HttpClient = {
    sendRequest: (request) => {
      seen.push({
        method: request.method,
        url: request.url,
        authorization: request.headers.get('authorization'),
      });
      const rule = rules.find(([pattern]) => pattern.test(request.url));
      const [, status, body, headers] = rule ?? [/./, 404, ''];
      return Promise.resolve({
        request,
        status,
        headers: createHttpHeaders(headers ?? {}),
        bodyAsText: body,
      });
    },
  };
  return { client, seen };
}

describe('RegistryClient under attack: where credentials go', () => {
  const signal = new AbortController().signal;
  const blob = JSON.stringify({ architecture: 'arm64', os: 'linux' });

  it('a realm over plain HTTP is refused: the refresh token never travels unencrypted', async () => {
    const party = scripted([
      [
        /^https:\/\/registry\.example\/v2\//,
        401,
        '',
        {
          'WWW-Authenticate': 'Bearer realm="http://auth.example/token",service="registry.example"',
        },
      ],
      [/^http:\/\/auth\.example\//, 200, '{"access_token":"t1"}'],
    ]);
    const client = new RegistryClient({
      apiHost: HOST,
      auth: { kind: 'refreshToken', refreshToken: 'rt-secret' },
      httpClient: party.client,
      retry: FAST,
    });
    await assert.rejects(
      client.getBlob('team/app', sha(blob), signal),
      (error: unknown) =>
        error instanceof RegistryError &&
        /http:\/\/auth\.example\/token/.test(error.message) &&
        /HTTPS/.test(error.message),
    );
    assert.deepEqual(
      party.seen.map((s) => new URL(s.url).host),
      [HOST],
    );
  });

  it('a realm on another host gets the refresh token; the registry only the token; a blob redirect gets no Authorization', async () => {
    const party = scripted([
      [/^https:\/\/registry\.example\/v2\/.*Bearer/, 0, ''],
      [
        /^https:\/\/registry\.example\/v2\//,
        401,
        '',
        {
          'WWW-Authenticate': 'Bearer realm="https://auth.example/token",service="registry.example"',
        },
      ],
      [/^https:\/\/auth\.example\//, 200, '{"access_token":"t1"}'],
      [/^https:\/\/storage\.example\//, 200, blob],
    ]);
    let authorized = false;
    const client = new RegistryClient({
      apiHost: HOST,
      auth: { kind: 'refreshToken', refreshToken: 'rt-secret' },
      httpClient: {
        sendRequest: (request) => {
          if (
            request.url.startsWith(`https://${HOST}/v2/`) &&
            request.headers.get('authorization') === 'Bearer t1'
          ) {
            authorized = true;
            party.seen.push({ method: request.method, url: request.url, authorization: 'Bearer t1' });
            return Promise.resolve({
              request,
              status: 307,
              headers: createHttpHeaders({ Location: 'https://storage.example/blob?sig=x' }),
              bodyAsText: '',
            });
          }
          return party.client.sendRequest(request);
        },
      },
      retry: FAST,
    });
    assert.equal(await client.getBlob('team/app', sha(blob), signal), blob);
    assert.ok(authorized);
    assert.deepEqual(
      party.seen.map((s) => `${s.method} ${new URL(s.url).host} ${s.authorization ?? '-'}`),
      [`GET ${HOST} -`, 'POST auth.example -', `GET ${HOST} Bearer t1`, 'GET storage.example -'],
    );
  });

  it('a Basic challenge: Basic credentials to the registry host, never to the host a blob redirects to', async () => {
    const basic = `Basic ${Buffer.from('ci:pw').toString('base64')}`;
    const seen: Seen[] = [];
    const client = new RegistryClient({
      apiHost: HOST,
      auth: { kind: 'basic', username: 'ci', password: 'pw' },
      httpClient: {
        sendRequest: (request) => {
          const authorization = request.headers.get('authorization');
          seen.push({ method: request.method, url: request.url, authorization });
          const reply = (status: number, body: string, headers: Record<string, string> = {}) =>
            Promise.resolve({ request, status, headers: createHttpHeaders(headers), bodyAsText: body });
          if (new URL(request.url).host !== HOST) return reply(200, blob);
          if (authorization !== basic)
            return reply(401, '', { 'WWW-Authenticate': 'Basic realm="registry"' });
          return reply(302, '', { Location: 'https://storage.example/b' });
        },
      },
      retry: FAST,
    });
    assert.equal(await client.getBlob('team/app', sha(blob), signal), blob);
    assert.deepEqual(
      seen.map((s) => `${new URL(s.url).host} ${s.authorization ?? '-'}`),
      [`${HOST} -`, `${HOST} ${basic}`, 'storage.example -'],
    );
  });
});

describe('RegistryClient under attack: answers too large to hold', () => {
  let pki: TestPki;
  let server: https.Server | undefined;
  const signal = new AbortController().signal;
  before(() => {
    pki = createTestPki();
  });
  after(() => {
    pki.remove();
  });
  afterEach(async () => {
    const closing = server;
    server = undefined;
    if (closing === undefined) return;
    closing.closeAllConnections();
    await new Promise((resolve) => closing.close(resolve));
  });

  /** A registry whose every answer is `total` bytes of a never-ending JSON string; counts what it sent. */
  const hugeRegistry = async (total: number): Promise<{ host: string; sent: () => number }> => {
    let sent = 0;
    const chunk = Buffer.alloc(64 * 1024, 'a');
    server = https.createServer({ cert: pki.serverCert, key: pki.serverKey }, (_request, response) => {
      response.writeHead(200, { 'Content-Type': OCI_MANIFEST, 'Content-Length': String(total) });
      const more = (): void => {
        while (sent < total) {
          sent += chunk.length;
          if (!response.write(chunk)) {
            response.once('drain', more);
            return;
          }
        }
        response.end();
      };
      response.on('close', () => response.removeAllListeners('drain'));
      more();
    });
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    return { host: `127.0.0.1:${port}`, sent: () => sent };
  };

  it('a manifest larger than 4 MiB is refused as soon as it passes the bound, not read whole', async () => {
    const total = 64 * 1024 * 1024;
    const registry = await hugeRegistry(total);
    const client = new RegistryClient({
      apiHost: registry.host,
      auth: { kind: 'anonymous' },
      tlsCa: fs.readFileSync(pki.caFile, 'utf8'),
      retry: FAST,
    });
    await assert.rejects(
      client.getManifest('team/app', `sha256:${'a'.repeat(64)}`, signal),
      (error: unknown) =>
        error instanceof RegistryError && /larger than 4 MiB/.test(error.message) && error.status === 200,
    );
    assert.ok(registry.sent() < total / 2, `the client read ${registry.sent()} bytes of ${total}`);
  });
});
