import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runTask, type Endpoint, type TaskRun, type TaskRunOptions } from '../support/agent';
import { commandOf, fakeBuildctlDir, readInvocations } from '../support/fakeBuildctl';
import { startFakeDaemon, type FakeDaemon } from '../support/fakeDaemon';
import { bundledTaskEntry } from '../support/repo';
import { ACR_AUDIENCE, startAcr, type FakeAcr } from '../support/servers/acr';
import { startDevOpsOidc, type FakeDevOpsOidc } from '../support/servers/devopsOidc';
import { startEntra, type FakeEntra } from '../support/servers/entra';
import { startImds, type FakeImds } from '../support/servers/imds';
import { secretValue, TokenBook } from '../support/servers/loopback';
import { createTestPki, type TestPki } from '../support/servers/pki';
import { systemVssConnection } from '../support/connections';

const TENANT = '7c1d2e3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f';
const SP_ID = 'b2b2b2b2-0000-4000-8000-000000000001';
const WIF_ID = 'b2b2b2b2-0000-4000-8000-000000000002';
/** Endpoint ids: agent.ts upper-cases them in variable names, so use upper case here too. */
const CONNECTION = 'ACR-DOCKER-CONNECTION';

/**
 * Docker Registry service connections of type Azure Container Registry (endpoint data registrytype=ACR,
 * authorization parameter loginServer), one per scheme, black-box against the loopback Entra ID, Azure
 * DevOps OIDC endpoint, managed identity endpoint and ACR exchange.
 */
describe('ACR-type Docker Registry connections, black-box', function () {
  this.timeout(60_000);
  let pki: TestPki;
  let book: TokenBook;
  let entra: FakeEntra;
  let oidc: FakeDevOpsOidc;
  let imds: FakeImds;
  let daemon: FakeDaemon;
  let acr: FakeAcr;
  let entry: string;
  let context: string;
  let recordDir: string;
  const spSecret = secretValue('acr-conn-sp-secret');
  const systemAccessToken = secretValue('acr-conn-system-token');

  before(async () => {
    entry = await bundledTaskEntry();
    pki = createTestPki();
    book = new TokenBook();
    oidc = await startDevOpsOidc(pki, book, systemAccessToken);
    entra = await startEntra(pki, book, {
      tenant: TENANT,
      clients: [
        { clientId: SP_ID, secret: spSecret },
        { clientId: WIF_ID, federated: (assertion) => oidc.issued.some((i) => i.token === assertion) },
      ],
    });
    imds = await startImds(book, TENANT);
    acr = await startAcr(pki, book);
    daemon = await startFakeDaemon();
    context = fs.mkdtempSync(path.join(os.tmpdir(), 'bkb-acrconn-context-'));
    fs.writeFileSync(path.join(context, 'Dockerfile'), 'FROM scratch\nCOPY Dockerfile /\n');
  });

  after(async () => {
    await Promise.all([entra.close(), oidc.close(), imds.close(), acr.close(), daemon.close()]);
    pki.remove();
    fs.rmSync(context, { recursive: true, force: true });
  });

  beforeEach(() => {
    recordDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bkb-acrconn-record-'));
    for (const server of [entra, oidc, imds, acr]) server.requests.length = 0;
    entra.issued.length = 0;
    acr.issued.length = 0;
  });

  afterEach(() => {
    fs.rmSync(recordDir, { recursive: true, force: true });
  });

  const exchanges = () => acr.requests.filter((r) => r.path === '/oauth2/exchange');

  /** As Azure DevOps hands over an ACR-type Docker Registry connection: no username, no password. */
  function acrConnection(
    scheme: string,
    parameters: Record<string, string>,
    data: Record<string, string> = {},
  ): Endpoint {
    return {
      url: `https://${acr.host}`,
      scheme,
      parameters: { loginServer: acr.host, tenantid: TENANT, ...parameters },
      data: { registrytype: 'ACR', activeDirectoryAuthority: entra.authority, ...data },
    };
  }

  function run(connection: Endpoint, more: Partial<TaskRunOptions> = {}): Promise<TaskRun> {
    return runTask({
      entry,
      inputs: {
        containerRegistry: CONNECTION,
        repository: 'team/app',
        tags: 'v1',
        context,
        buildkitAddress: daemon.address,
        ...more.inputs,
      },
      variables: { 'System.OidcRequestUri': oidc.requestUri, 'System.Debug': 'true', ...more.variables },
      endpoints: { [CONNECTION]: connection, ...systemVssConnection(systemAccessToken) },
      env: {
        NODE_EXTRA_CA_CERTS: pki.caFile,
        FAKE_BUILDCTL_RECORD_DIR: recordDir,
        AZURE_POD_IDENTITY_AUTHORITY_HOST: imds.origin,
      },
      pathPrepend: [fakeBuildctlDir],
      cwd: context,
      timeoutMs: 45_000,
    });
  }

  /** The build ran with the ACR refresh token for the connection's login server, and nothing leaked. */
  function assertBuiltWithRefreshToken(result: TaskRun): void {
    assert.equal(result.result, 'Succeeded', `${result.resultMessage ?? ''}\n${result.stdout}`);
    assert.equal(acr.issued.length, 1, 'one refresh token issued');
    const refreshToken = acr.issued[0]?.refreshToken ?? '?';
    const builds = readInvocations(recordDir).filter((i) => commandOf(i) === 'build');
    assert.equal(builds.length, 1);
    assert.deepEqual(builds[0]?.dockerConfig, {
      auths: {
        [acr.host]: {
          auth: Buffer.from('00000000-0000-0000-0000-000000000000:').toString('base64'),
          identitytoken: refreshToken,
        },
      },
    });
    assert.ok(builds[0].argv.includes(`type=image,name=${acr.host}/team/app:v1,push=true`));
    assert.match(
      result.stdout,
      /through the Docker Registry service connection of type Azure Container Registry/,
    );
    assertNoSecretPrinted(result, [spSecret, systemAccessToken, refreshToken, ...book.all()]);
  }

  function assertNoSecretPrinted(result: TaskRun, secrets: readonly string[]): void {
    const printed = `${result.stdout}\n${result.stderr}`
      .split(/\r?\n/)
      .filter((line) => !line.includes('##vso[task.setsecret]'))
      .join('\n');
    for (const secret of secrets) assert.ok(!printed.includes(secret), `${secret.slice(0, 14)}... printed`);
    const left = fs.readdirSync(result.tempDirectory).filter((n) => n.startsWith('bkb-docker-'));
    assert.deepEqual(left, [], 'the private docker config was removed');
  }

  it('ServicePrincipal: the service principal id and key get an Entra ID token, exchanged at the login server', async () => {
    const result = await run(
      acrConnection('ServicePrincipal', { serviceprincipalid: SP_ID, serviceprincipalkey: spSecret }),
    );
    const tokens = entra.requests.filter((r) => r.method === 'POST');
    assert.equal(tokens.length, 1);
    assert.equal(tokens[0]?.form.client_id, SP_ID);
    assert.equal(tokens[0].form.client_secret, spSecret);
    assert.equal(tokens[0].form.scope, `${ACR_AUDIENCE}/.default`);
    assert.deepEqual(
      exchanges().map((r) => [r.form.service, r.form.tenant, r.form.access_token]),
      [[acr.host, TENANT, entra.issued[0]?.token]],
    );
    assertBuiltWithRefreshToken(result);
  });

  it("WorkloadIdentityFederation: the OIDC request names the Docker Registry connection's own id", async () => {
    const result = await run(acrConnection('WorkloadIdentityFederation', { serviceprincipalid: WIF_ID }));
    assert.ok(oidc.requests.length >= 1);
    for (const request of oidc.requests) assert.equal(request.query.serviceConnectionId, CONNECTION);
    const tokens = entra.requests.filter((r) => r.method === 'POST');
    assert.equal(tokens[0]?.form.client_id, WIF_ID);
    assert.ok(oidc.issued.some((i) => i.token === tokens[0]?.form.client_assertion));
    assertBuiltWithRefreshToken(result);
  });

  it('ManagedServiceIdentity: the managed identity endpoint gives the ACR-audience token', async () => {
    const result = await run(acrConnection('ManagedServiceIdentity', {}));
    assert.equal(
      entra.requests.filter((r) => r.method === 'POST').length,
      0,
      'no Entra ID token endpoint call',
    );
    const calls = imds.requests.filter((r) => r.path.startsWith('/metadata/identity/oauth2/token'));
    assert.equal(calls.length, 1);
    assert.equal(calls[0]?.query.resource, ACR_AUDIENCE);
    assert.equal(book.claims(exchanges()[0]?.form.access_token ?? '')?.aud, ACR_AUDIENCE);
    assertBuiltWithRefreshToken(result);
  });

  it('an ACR-type connection without a login server fails before anything is fetched, naming the input', async () => {
    const result = await run({
      ...acrConnection('ServicePrincipal', { serviceprincipalid: SP_ID, serviceprincipalkey: spSecret }),
      parameters: { serviceprincipalid: SP_ID, serviceprincipalkey: spSecret, tenantid: TENANT },
    });
    assert.equal(result.result, 'Failed');
    assert.match(
      result.resultMessage ?? '',
      /containerRegistry: the Docker Registry service connection is of type Azure Container Registry, but its login server '' is not a registry host/,
    );
    assert.equal(entra.requests.length + acr.requests.length, 0);
    assertNoSecretPrinted(result, [spSecret, systemAccessToken]);
  });

  for (const [what, data, pattern] of [
    [
      'Azure Stack Hub',
      { environment: 'AzureStack' },
      /for Azure Stack Hub \(environment 'AzureStack'\), which this task does not support/,
    ],
    [
      'AD FS',
      { activeDirectoryAuthority: 'https://adfs.local.azurestack.external/adfs/' },
      /through Active Directory Federation Services \(authority https:\/\/adfs\.local\.azurestack\.external\/adfs\/\), which this task does not support/,
    ],
  ] as const) {
    it(`an Azure Resource Manager connection of ${what} is refused before any request, saying what is supported`, async () => {
      const arm: Endpoint = {
        url: 'https://management.local.azurestack.external/',
        scheme: 'ServicePrincipal',
        parameters: {
          serviceprincipalid: SP_ID,
          serviceprincipalkey: spSecret,
          tenantid: TENANT,
          authenticationType: 'spnKey',
        },
        data: { environment: 'AzureCloud', activeDirectoryAuthority: entra.authority, ...data },
      };
      const result = await runTask({
        entry,
        inputs: {
          azureSubscription: 'ARM-STACK',
          acr: acr.host,
          repository: 'team/app',
          context,
          buildkitAddress: daemon.address,
        },
        endpoints: { 'ARM-STACK': arm },
        env: { NODE_EXTRA_CA_CERTS: pki.caFile, FAKE_BUILDCTL_RECORD_DIR: recordDir },
        pathPrepend: [fakeBuildctlDir],
        cwd: context,
        timeoutMs: 45_000,
      });
      assert.equal(result.result, 'Failed');
      assert.match(result.resultMessage ?? '', /azureSubscription: the service connection/);
      assert.match(result.resultMessage ?? '', pattern);
      assert.match(
        result.resultMessage ?? '',
        /Use a Docker Registry service connection with a username and password/,
      );
      assert.equal(entra.requests.length + acr.requests.length, 0, 'no request was sent');
      assert.deepEqual(
        readInvocations(recordDir).filter((i) => commandOf(i) === 'build'),
        [],
      );
      assertNoSecretPrinted(result, [spSecret]);
    });
  }
});
