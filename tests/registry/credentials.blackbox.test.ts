import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runTask, type Endpoint, type TaskRun, type TaskRunOptions } from '../support/agent';
import { commandOf, fakeBuildctlDir, readInvocations } from '../support/fakeBuildctl';
import { startFakeDaemon, type FakeDaemon } from '../support/fakeDaemon';
import { bundledTaskEntry } from '../support/repo';
import { ACR_AUDIENCE, ARM_AUDIENCE, startAcr, type AcrOptions, type FakeAcr } from '../support/servers/acr';
import { startDevOpsOidc, type FakeDevOpsOidc } from '../support/servers/devopsOidc';
import { startEntra, type FakeEntra } from '../support/servers/entra';
import { startImds, type FakeImds } from '../support/servers/imds';
import { secretValue, TokenBook } from '../support/servers/loopback';
import { createTestPki, type TestPki } from '../support/servers/pki';
import { startFakeProxy } from '../support/servers/proxy';
import { systemVssConnection } from '../support/connections';

const TENANT = '3f2a9c1e-7b4d-4e8f-9a01-5c6d7e8f9a0b';
const SP_SECRET_ID = 'a1a1a1a1-0000-4000-8000-000000000001';
const SP_CERT_ID = 'a1a1a1a1-0000-4000-8000-000000000002';
const WIF_ID = 'a1a1a1a1-0000-4000-8000-000000000003';
const MSI_CLIENT_ID = 'a1a1a1a1-0000-4000-8000-000000000004';
/** Endpoint ids: agent.ts upper-cases them in variable names, so use upper case here too. */
const ARM = 'ARM-CONNECTION-1';
const ACR_SCOPE = `${ACR_AUDIENCE}/.default`;
const ARM_SCOPE = `${ARM_AUDIENCE}/.default`;

describe('registry credentials, black-box against loopback Entra ID, Azure DevOps and ACR', function () {
  this.timeout(60_000);
  let pki: TestPki;
  let book: TokenBook;
  let entra: FakeEntra;
  let oidc: FakeDevOpsOidc;
  let imds: FakeImds;
  let daemon: FakeDaemon;
  let acr: FakeAcr | undefined;
  let entry: string;
  let context: string;
  let recordDir: string;
  const spSecret = secretValue('sp-secret');
  const systemAccessToken = secretValue('system-access-token');

  before(async () => {
    entry = await bundledTaskEntry();
    pki = createTestPki();
    book = new TokenBook();
    oidc = await startDevOpsOidc(pki, book, systemAccessToken);
    entra = await startEntra(pki, book, {
      tenant: TENANT,
      clients: [
        { clientId: SP_SECRET_ID, secret: spSecret },
        { clientId: SP_CERT_ID, certificatePem: pki.clientCert },
        { clientId: WIF_ID, federated: (assertion) => oidc.issued.some((i) => i.token === assertion) },
      ],
    });
    imds = await startImds(book, TENANT);
    daemon = await startFakeDaemon();
    context = fs.mkdtempSync(path.join(os.tmpdir(), 'bkb-registry-context-'));
    fs.writeFileSync(path.join(context, 'Dockerfile'), 'FROM scratch\nCOPY Dockerfile /\n');
  });

  after(async () => {
    await Promise.all([entra.close(), oidc.close(), imds.close(), daemon.close()]);
    pki.remove();
    fs.rmSync(context, { recursive: true, force: true });
  });

  beforeEach(() => {
    recordDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bkb-registry-record-'));
    entra.requests.length = 0;
    entra.issued.length = 0;
    oidc.requests.length = 0;
    imds.requests.length = 0;
  });

  afterEach(async () => {
    await acr?.close();
    acr = undefined;
    fs.rmSync(recordDir, { recursive: true, force: true });
  });

  function armData(): Record<string, string> {
    return {
      environment: 'AzureCloud',
      environmentAuthorityUrl: entra.authority,
      activeDirectoryAuthority: entra.authority,
      subscriptionId: 'c0ffee00-0000-4000-8000-000000000000',
      subscriptionName: 'test subscription',
    };
  }

  const endpoints = {
    secret: (): Endpoint => ({
      url: 'https://management.azure.com/',
      scheme: 'ServicePrincipal',
      parameters: {
        serviceprincipalid: SP_SECRET_ID,
        authenticationType: 'spnKey',
        serviceprincipalkey: spSecret,
        tenantid: TENANT,
      },
      data: armData(),
    }),
    certificate: (): Endpoint => ({
      url: 'https://management.azure.com/',
      scheme: 'ServicePrincipal',
      parameters: {
        serviceprincipalid: SP_CERT_ID,
        authenticationType: 'spnCertificate',
        servicePrincipalCertificate: pki.clientPem,
        tenantid: TENANT,
      },
      data: armData(),
    }),
    federated: (): Endpoint => ({
      url: 'https://management.azure.com/',
      scheme: 'WorkloadIdentityFederation',
      parameters: { serviceprincipalid: WIF_ID, tenantid: TENANT },
      data: armData(),
    }),
    managed: (): Endpoint => ({
      url: 'https://management.azure.com/',
      scheme: 'ManagedServiceIdentity',
      parameters: { tenantid: TENANT },
      data: { ...armData(), msiclientId: MSI_CLIENT_ID },
    }),
  };

  async function run(
    arm: Endpoint | undefined,
    acrOptions: AcrOptions = {},
    more: Partial<TaskRunOptions> = {},
  ): Promise<TaskRun> {
    acr = await startAcr(pki, book, acrOptions);
    return runTask({
      entry,
      inputs: {
        ...(arm ? { azureSubscription: ARM, acr: acr.host } : {}),
        repository: 'team/app',
        tags: 'v1',
        context,
        buildkitAddress: daemon.address,
        ...more.inputs,
      },
      variables: { 'System.OidcRequestUri': oidc.requestUri, ...more.variables },
      endpoints: {
        ...(arm ? { [ARM]: arm } : {}),
        ...systemVssConnection(systemAccessToken),
        ...more.endpoints,
      },
      env: {
        NODE_EXTRA_CA_CERTS: pki.caFile,
        FAKE_BUILDCTL_RECORD_DIR: recordDir,
        AZURE_POD_IDENTITY_AUTHORITY_HOST: imds.origin,
        ...more.env,
      },
      pathPrepend: [fakeBuildctlDir],
      cwd: context,
      timeoutMs: 45_000,
    });
  }

  /** Every secret issued during the run: none may appear in the output but inside its own setsecret. */
  function issuedSecrets(): string[] {
    return [spSecret, systemAccessToken, ...book.all(), ...(acr?.issued.map((i) => i.refreshToken) ?? [])];
  }

  function assertMasked(run: TaskRun, secrets: readonly string[]): void {
    const masked = new Set(run.commands.filter((c) => c.name === 'task.setsecret').map((c) => c.message));
    const printed = `${run.stdout}\n${run.stderr}`
      .split(/\r?\n/)
      .filter((line) => !line.includes('##vso[task.setsecret]'))
      .join('\n');
    for (const secret of secrets) {
      assert.ok(!printed.includes(secret), `a secret (${secret.slice(0, 12)}...) was printed`);
    }
    // The ones the task itself held were masked (the OIDC assertion never reaches the task's code).
    for (const secret of [
      ...(acr?.issued.map((i) => i.refreshToken) ?? []),
      ...entra.issued.map((i) => i.token),
    ]) {
      assert.ok(masked.has(secret), `a secret (${secret.slice(0, 12)}...) was not masked`);
    }
  }

  function assertNoConfigLeft(run: TaskRun): void {
    const left = fs.readdirSync(run.tempDirectory).filter((name) => name.startsWith('bkb-docker-'));
    assert.deepEqual(left, [], 'the private docker config was removed');
  }

  function assertPhaseDone(run: TaskRun): void {
    assert.ok(
      run.stdout.includes('written to a private docker config for this run'),
      `${run.resultMessage ?? ''}\n${run.stdout}\n${run.stderr}`,
    );
  }

  function exchangeRequests(): Record<string, string>[] {
    return (acr?.requests ?? []).map((r) => r.form);
  }

  function tokenRequests(): { path: string; form: Record<string, string> }[] {
    return entra.requests.filter((r) => r.method === 'POST').map((r) => ({ path: r.path, form: r.form }));
  }

  it('service principal with a secret: client_secret grant for the ACR scope, exchanged for a refresh token', async () => {
    const result = await run(endpoints.secret());
    assertPhaseDone(result);
    const [token, ...moreTokens] = tokenRequests();
    assert.deepEqual(moreTokens, []);
    assert.equal(token?.path, `/${TENANT}/oauth2/v2.0/token`);
    assert.equal(token.form.grant_type, 'client_credentials');
    assert.equal(token.form.client_id, SP_SECRET_ID);
    assert.equal(token.form.client_secret, spSecret);
    assert.equal(token.form.scope, ACR_SCOPE);
    assert.deepEqual(exchangeRequests(), [
      {
        grant_type: 'access_token',
        service: acr?.host,
        tenant: TENANT,
        access_token: entra.issued[0]?.token,
      },
    ]);
    assert.match(result.stdout, /obtained with an ACR-audience Entra ID token/);
    assertMasked(result, issuedSecrets());
    assertNoConfigLeft(result);
  });

  it("goes through the agent's proxy (Agent.ProxyUrl) to Entra ID and the registry, its password masked", async () => {
    const proxy = await startFakeProxy();
    const proxyPassword = secretValue('proxy-password');
    try {
      const result = await run(endpoints.secret(), undefined, {
        variables: {
          'System.OidcRequestUri': oidc.requestUri,
          'Agent.ProxyUrl': proxy.url,
          'Agent.ProxyUsername': 'builder',
        },
        // The agent hands the proxy password over as a secret variable.
        env: { SECRET_AGENT_PROXYPASSWORD: proxyPassword },
      });
      assertPhaseDone(result);
      const targets = new Set(proxy.tunnels.map((t) => t.target));
      assert.ok(targets.has(new URL(entra.authority).host), `tunnels: ${[...targets].join(', ')}`);
      assert.ok(targets.has(acr?.host ?? ''), `tunnels: ${[...targets].join(', ')}`);
      const basic = `Basic ${Buffer.from(`builder:${proxyPassword}`).toString('base64')}`;
      assert.ok(proxy.tunnels.every((t) => t.authorization === basic));
      assertMasked(result, issuedSecrets());
      // task-lib echoes every variable it reads into the debug log; the agent masks that line itself
      // because Agent.ProxyPassword is a secret variable. Anywhere else the password must not appear.
      const elsewhere = result.stdout
        .split('\n')
        .filter((l) => l.includes(proxyPassword))
        .filter(
          (l) =>
            !l.startsWith('##vso[task.setsecret]') && !l.startsWith('##vso[task.debug]Agent.ProxyPassword='),
        );
      assert.deepEqual(elsewhere, []);
      assert.ok(result.commands.some((c) => c.name === 'task.setsecret' && c.message === proxyPassword));
      assertNoConfigLeft(result);
    } finally {
      await proxy.close();
    }
  });

  it('service principal with a certificate: a client assertion signed with the connection key', async () => {
    const result = await run(endpoints.certificate());
    assertPhaseDone(result);
    const [token] = tokenRequests();
    assert.equal(token?.form.client_id, SP_CERT_ID);
    assert.equal(token.form.client_assertion_type, 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
    assert.equal(token.form.client_secret, undefined);
    assert.equal(token.form.scope, ACR_SCOPE);
    assert.equal(exchangeRequests()[0]?.access_token, entra.issued[0]?.token);
    const keyLines = pki.clientPem
      .split('\n')
      .filter((l) => l.trim() !== '' && !l.startsWith('-----'))
      .slice(-3);
    assertMasked(result, [...issuedSecrets(), ...keyLines]);
    assertNoConfigLeft(result);
  });

  it('workload identity federation: the OIDC token from Azure DevOps becomes the client assertion', async () => {
    const result = await run(endpoints.federated());
    assertPhaseDone(result);
    assert.ok(oidc.requests.length >= 1);
    for (const request of oidc.requests) {
      assert.equal(request.method, 'POST');
      assert.deepEqual(request.query, { 'api-version': '7.1', serviceConnectionId: ARM });
      assert.equal(request.headers.authorization, `Bearer ${systemAccessToken}`);
    }
    const [token] = tokenRequests();
    assert.equal(token?.form.client_id, WIF_ID);
    assert.ok(oidc.issued.some((i) => i.token === token.form.client_assertion));
    assert.equal(token.form.client_assertion_type, 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
    assert.equal(token.form.scope, ACR_SCOPE);
    assert.deepEqual(exchangeRequests(), [
      {
        grant_type: 'access_token',
        service: acr?.host,
        tenant: TENANT,
        access_token: entra.issued[0]?.token,
      },
    ]);
    assertMasked(result, issuedSecrets());
    assertNoConfigLeft(result);
  });

  it('managed identity: the user-assigned client id goes to the managed identity endpoint', async () => {
    const result = await run(endpoints.managed());
    assertPhaseDone(result);
    assert.deepEqual(tokenRequests(), [], 'no Entra ID token endpoint call');
    const tokenCalls = imds.requests.filter((r) => r.path.startsWith('/metadata/identity/oauth2/token'));
    assert.equal(tokenCalls.length, 1);
    assert.equal(tokenCalls[0]?.headers.metadata, 'true');
    assert.equal(tokenCalls[0].query.resource, ACR_AUDIENCE);
    assert.equal(tokenCalls[0].query.client_id, MSI_CLIENT_ID);
    const exchanged = exchangeRequests();
    assert.equal(exchanged.length, 1);
    assert.equal(exchanged[0]?.tenant, TENANT);
    assert.equal(book.claims(exchanged[0].access_token ?? '')?.aud, ACR_AUDIENCE);
    assertMasked(result, issuedSecrets());
    assertNoConfigLeft(result);
  });

  it('falls back to an ARM-audience token when the registry refuses the ACR audience, and says so', async () => {
    const result = await run(endpoints.secret(), { audiences: [ARM_AUDIENCE] });
    assertPhaseDone(result);
    assert.deepEqual(
      tokenRequests().map((t) => t.form.scope),
      [ACR_SCOPE, ARM_SCOPE],
    );
    assert.deepEqual(
      exchangeRequests().map((f) => book.claims(f.access_token ?? '')?.aud),
      [ACR_AUDIENCE, ARM_AUDIENCE],
    );
    assert.match(result.stdout, /did not accept an ACR-audience Entra ID token \(HTTP 401\)/);
    assert.match(result.stdout, /obtained with an Azure Resource Manager-audience Entra ID token/);
    assertMasked(result, issuedSecrets());
  });

  it('retries the exchange after a 503 and then succeeds', async () => {
    const result = await run(endpoints.secret(), { script: [{ status: 503, body: { errors: [] } }] });
    assertPhaseDone(result);
    assert.equal(exchangeRequests().length, 2);
    assert.deepEqual(exchangeRequests()[0], exchangeRequests()[1]);
    assert.match(result.stdout, /answered HTTP 503 to the token exchange; attempt 2 in/);
    assert.equal(acr?.issued.length, 1);
    assertMasked(result, issuedSecrets());
    assertNoConfigLeft(result);
  });

  it('fails with the AcrPush role to grant when the registry refuses the identity (AcrPull without push)', async () => {
    const pushing = await run(endpoints.secret(), { deny: true });
    assert.equal(pushing.result, 'Failed');
    assert.match(pushing.resultMessage ?? '', /needs the AcrPush role on this registry/);
    assert.ok(pushing.resultMessage?.includes(acr?.host ?? '?'));
    assert.equal(exchangeRequests().length, 2, 'ACR audience, then ARM audience');
    assertMasked(pushing, issuedSecrets());
    assertNoConfigLeft(pushing);
    assert.deepEqual(
      readInvocations(recordDir).filter((i) => commandOf(i) === 'build'),
      [],
      'nothing built',
    );
    await acr?.close();

    const validating = await run(endpoints.secret(), { deny: true }, { inputs: { push: 'false' } });
    assert.equal(validating.result, 'Failed');
    assert.match(validating.resultMessage ?? '', /needs the AcrPull role on this registry/);
  });

  it('Docker Registry connection: Docker Hub is keyed as BuildKit looks it up, the password masked', async () => {
    const password = secretValue('hub-password');
    const result = await run(
      undefined,
      {},
      {
        inputs: { containerRegistry: 'HUB-CONNECTION' },
        endpoints: {
          'HUB-CONNECTION': {
            url: 'https://index.docker.io/v1/',
            scheme: 'UsernamePassword',
            parameters: { registry: 'https://index.docker.io/v1/', username: 'bkbuser', password, email: '' },
          },
        },
      },
    );
    assertPhaseDone(result);
    assert.match(result.stdout, /Registry credentials for docker\.io: user bkbuser/);
    assert.deepEqual(tokenRequests(), []);
    assertMasked(result, [password, Buffer.from(`bkbuser:${password}`).toString('base64')]);
    assertNoConfigLeft(result);
  });

  it('an acr that is no registry name fails before anything is fetched, naming the input', async () => {
    const result = await run(endpoints.secret(), {}, { inputs: { acr: 'https://my acr' } });
    assert.equal(result.result, 'Failed');
    assert.match(result.resultMessage ?? '', /acr: 'https:\/\/my acr' is neither an ACR name/);
    assert.deepEqual(tokenRequests(), []);
  });

  it('buildctl sees the ACR refresh token as identitytoken in a private DOCKER_CONFIG (needs the build phase)', async () => {
    const userConfig = fs.mkdtempSync(path.join(os.tmpdir(), 'bkb-user-docker-'));
    const userFile = path.join(userConfig, 'config.json');
    const userText = JSON.stringify({
      auths: { 'ghcr.io': { auth: Buffer.from('me:theirs').toString('base64') } },
      credsStore: 'desktop',
    });
    fs.writeFileSync(userFile, userText);
    try {
      const result = await run(endpoints.secret(), {}, { env: { DOCKER_CONFIG: userConfig } });
      assertPhaseDone(result);
      const builds = readInvocations(recordDir).filter((i) => commandOf(i) === 'build');
      assert.equal(builds.length, 1, `one build: ${result.resultMessage ?? ''}`);
      const seen = builds[0];
      assert.ok(seen);
      assert.ok(
        seen.env.DOCKER_CONFIG?.startsWith(result.tempDirectory),
        'DOCKER_CONFIG under Agent.TempDirectory',
      );
      assert.notEqual(seen.env.DOCKER_CONFIG, userConfig);
      assert.deepEqual(seen.dockerConfig, {
        auths: {
          'ghcr.io': { auth: Buffer.from('me:theirs').toString('base64') },
          [acr?.host ?? '']: {
            auth: Buffer.from('00000000-0000-0000-0000-000000000000:').toString('base64'),
            identitytoken: acr?.issued[0]?.refreshToken,
          },
        },
      });
      assert.ok(!seen.argv.join(' ').includes(acr?.issued[0]?.refreshToken ?? '?'), 'no secret in argv');
      assert.equal(fs.readFileSync(userFile, 'utf8'), userText, "the user's config is untouched");
      assertNoConfigLeft(result);
    } finally {
      fs.rmSync(userConfig, { recursive: true, force: true });
    }
  });
});
