import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseChallenge } from '../../tasks/BuildKitBuild/src/oci/challenge';
import { registryLocation } from '../../tasks/BuildKitBuild/src/oci/location';
import {
  RegistryClient,
  RegistryError,
  type RegistryAuth,
} from '../../tasks/BuildKitBuild/src/oci/registryClient';
import type { RetryNotice } from '../../tasks/BuildKitBuild/src/registry/acrExchange';
import { createTestPki, type TestPki } from '../support/servers/pki';
import {
  startRegistry,
  storeContent,
  type FakeRegistry,
  type RegistryOptions,
} from '../support/servers/registry';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const FAST = { maxRetries: 3, baseDelayMs: 1, maxDelayMs: 2, maxRetryAfterMs: 5 };

describe('RegistryClient against a loopback registry with token auth', () => {
  let pki: TestPki;
  let registry: FakeRegistry | undefined;
  let store: string;
  const signal = new AbortController().signal;

  before(() => {
    pki = createTestPki();
  });
  after(() => {
    pki.remove();
  });
  beforeEach(() => {
    store = fs.mkdtempSync(path.join(os.tmpdir(), 'bkb-registry-'));
  });
  afterEach(async () => {
    await registry?.close();
    registry = undefined;
    fs.rmSync(store, { recursive: true, force: true });
  });

  const start = async (options: Omit<RegistryOptions, 'storeDir'>): Promise<FakeRegistry> => {
    registry = await startRegistry(pki, { ...options, storeDir: store });
    return registry;
  };
  const client = (
    server: FakeRegistry,
    auth: RegistryAuth,
    extra: { onRetry?: (n: RetryNotice) => void; onSecret?: (v: string) => void } = {},
  ): RegistryClient =>
    new RegistryClient({
      apiHost: server.host,
      auth,
      tlsCa: fs.readFileSync(pki.caFile, 'utf8'),
      retry: FAST,
      random: () => 0.5,
      ...extra,
    });
  const manifestText = JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: {}, layers: [] });

  it('ACR refresh token: 401 challenge, grant_type=refresh_token for the challenged scope, then the manifest', async () => {
    const server = await start({ refreshTokens: { 'rt-1': { 'team/app': ['pull'] } } });
    const digest = storeContent(store, 'manifest', manifestText);
    const secrets: string[] = [];
    const fetched = await client(
      server,
      { kind: 'refreshToken', refreshToken: 'rt-1' },
      { onSecret: (v) => secrets.push(v) },
    ).getManifest('team/app', digest, signal);
    assert.deepEqual(
      { ...fetched, json: undefined },
      { mediaType: OCI_MANIFEST, digest, size: manifestText.length, text: manifestText, json: undefined },
    );
    const [anonymous, tokenRequest, authorized] = server.requests;
    assert.equal(anonymous?.headers.authorization, undefined);
    assert.equal(tokenRequest?.method, 'POST');
    assert.deepEqual(tokenRequest.form, {
      grant_type: 'refresh_token',
      service: server.host,
      scope: 'repository:team/app:pull',
      refresh_token: 'rt-1',
    });
    assert.equal(authorized?.headers.authorization, `Bearer ${server.issued[0]?.token ?? '?'}`);
    assert.deepEqual(secrets, [server.issued[0]?.token]);
  });

  it('a wrong refresh token is refused by the realm: RegistryError with status and the registry text', async () => {
    const server = await start({ refreshTokens: { 'rt-1': { 'team/app': ['pull'] } } });
    await assert.rejects(
      client(server, { kind: 'refreshToken', refreshToken: 'rt-wrong' }).getManifest(
        'team/app',
        'latest',
        signal,
      ),
      (error: unknown) =>
        error instanceof RegistryError &&
        error.status === 401 &&
        error.operation.includes('token for repository:team/app:pull') &&
        /UNAUTHORIZED: authentication required/.test(error.detail),
    );
  });

  it('a token without push is refused for a PUT (scope is checked), and nothing is tagged', async () => {
    const server = await start({ refreshTokens: { 'rt-1': { 'team/app': ['pull'] } } });
    await assert.rejects(
      client(server, { kind: 'refreshToken', refreshToken: 'rt-1' }).putManifest(
        'team/app',
        'v1',
        OCI_MANIFEST,
        manifestText,
        signal,
      ),
      (error: unknown) =>
        error instanceof RegistryError && error.status === 401 && /DENIED/.test(error.detail),
    );
    assert.deepEqual(server.tags(), {});
  });

  it('a token for another repository does not open this one', async () => {
    const server = await start({ refreshTokens: { 'rt-1': { 'team/other': ['pull', 'push'] } } });
    await assert.rejects(
      client(server, { kind: 'refreshToken', refreshToken: 'rt-1' }).getManifest('team/app', 'v1', signal),
      (error: unknown) => error instanceof RegistryError && error.status === 401,
    );
  });

  it('username and password: Basic towards the realm, then PUT under a tag and read it back by tag', async () => {
    const server = await start({ users: { 'ci:s3cret': { 'team/app': ['pull', 'push'] } } });
    const registryClient = client(server, { kind: 'basic', username: 'ci', password: 's3cret' });
    const index = JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] });
    const digest = await registryClient.putManifest('team/app', 'v1', OCI_INDEX, index, signal);
    assert.deepEqual(server.tags(), { 'team/app:v1': digest });
    const tokenRequest = server.requests.find((r) => r.path === '/oauth2/token');
    assert.equal(tokenRequest?.method, 'GET');
    assert.deepEqual(tokenRequest.query, { service: server.host, scope: 'repository:team/app:pull,push' });
    assert.equal(tokenRequest.headers.authorization, `Basic ${Buffer.from('ci:s3cret').toString('base64')}`);
    const back = await registryClient.getManifest('team/app', 'v1', signal);
    assert.equal(back.digest, digest);
    assert.equal(back.mediaType, OCI_INDEX);
    assert.equal(await registryClient.headManifest('team/app', 'v1', signal), digest);
    assert.equal(await registryClient.headManifest('team/app', 'v2', signal), undefined);
  });

  it('429 and 5xx are retried with backoff; the blob is checked against its digest', async () => {
    const server = await start({
      users: { 'ci:pw': { 'team/app': ['pull'] } },
      script: [
        { status: 503, body: {} },
        { status: 429, body: {}, headers: { 'Retry-After': '0' } },
      ],
    });
    const blob = JSON.stringify({ architecture: 'arm64', os: 'linux' });
    const digest = storeContent(store, 'blob', blob);
    const notices: RetryNotice[] = [];
    const text = await client(
      server,
      { kind: 'basic', username: 'ci', password: 'pw' },
      { onRetry: (n) => notices.push(n) },
    ).getBlob('team/app', digest, signal);
    assert.equal(text, blob);
    assert.deepEqual(
      notices.map((n) => n.reason),
      ['HTTP 503', 'HTTP 429'],
    );
  });

  it('content whose digest differs from the one asked for is refused', async () => {
    const server = await start({ users: { 'ci:pw': { 'team/app': ['pull'] } } });
    const digest = storeContent(store, 'manifest', manifestText);
    const other = `sha256:${'0'.repeat(64)}`;
    fs.copyFileSync(
      path.join(store, 'manifests', digest.replace(':', '-')),
      path.join(store, 'manifests', other.replace(':', '-')),
    );
    await assert.rejects(
      client(server, { kind: 'basic', username: 'ci', password: 'pw' }).getManifest(
        'team/app',
        other,
        signal,
      ),
      (error: unknown) => error instanceof RegistryError && /digest is sha256:/.test(error.detail),
    );
  });
});

describe('WWW-Authenticate and image locations', () => {
  it('parseChallenge reads quoted and bare parameters', () => {
    assert.deepEqual(
      parseChallenge(
        'Bearer realm="https://myacr.azurecr.io/oauth2/token",service="myacr.azurecr.io",scope="repository:team/app:pull,push"',
      ),
      {
        scheme: 'bearer',
        params: {
          realm: 'https://myacr.azurecr.io/oauth2/token',
          service: 'myacr.azurecr.io',
          scope: 'repository:team/app:pull,push',
        },
      },
    );
    assert.deepEqual(parseChallenge('Basic realm="a \\"quoted\\" realm", charset=UTF-8'), {
      scheme: 'basic',
      params: { realm: 'a "quoted" realm', charset: 'UTF-8' },
    });
    assert.equal(parseChallenge(undefined), undefined);
  });

  it('registryLocation: a registry host, or Docker Hub', () => {
    assert.deepEqual(registryLocation('myacr.azurecr.io/team/app'), {
      apiHost: 'myacr.azurecr.io',
      repository: 'team/app',
      configHost: 'myacr.azurecr.io',
    });
    assert.deepEqual(registryLocation('127.0.0.1:5000/app'), {
      apiHost: '127.0.0.1:5000',
      repository: 'app',
      configHost: '127.0.0.1:5000',
    });
    assert.deepEqual(registryLocation('app'), {
      apiHost: 'registry-1.docker.io',
      repository: 'library/app',
      configHost: 'docker.io',
    });
    assert.deepEqual(registryLocation('docker.io/org/app'), {
      apiHost: 'registry-1.docker.io',
      repository: 'org/app',
      configHost: 'docker.io',
    });
  });
});
