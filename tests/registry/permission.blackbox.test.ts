import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runTask, type Endpoint, type TaskRun } from '../support/agent';
import { commandOf, fakeBuildctlDir, readInvocations } from '../support/fakeBuildctl';
import { startFakeDaemon, type FakeDaemon } from '../support/fakeDaemon';
import { bundledTaskEntry } from '../support/repo';
import { startAcr, type AcrOptions, type FakeAcr } from '../support/servers/acr';
import { startEntra, type FakeEntra } from '../support/servers/entra';
import { secretValue, TokenBook } from '../support/servers/loopback';
import { createTestPki, type TestPki } from '../support/servers/pki';

const TENANT = '5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b';
const SP_ID = 'c3c3c3c3-0000-4000-8000-000000000001';
const ARM = 'ARM-PERMISSION';

/** The permission check before the build, black-box against the loopback Entra ID and ACR token service. */
describe('permission check before the build, black-box', function () {
  this.timeout(60_000);
  let pki: TestPki;
  let book: TokenBook;
  let entra: FakeEntra;
  let daemon: FakeDaemon;
  let acr: FakeAcr | undefined;
  let entry: string;
  let context: string;
  let recordDir: string;
  const spSecret = secretValue('perm-sp-secret');

  before(async () => {
    entry = await bundledTaskEntry();
    pki = createTestPki();
    book = new TokenBook();
    entra = await startEntra(pki, book, { tenant: TENANT, clients: [{ clientId: SP_ID, secret: spSecret }] });
    daemon = await startFakeDaemon();
    context = fs.mkdtempSync(path.join(os.tmpdir(), 'bkb-perm-context-'));
    fs.writeFileSync(path.join(context, 'Dockerfile'), 'FROM scratch\nCOPY Dockerfile /\n');
  });
  after(async () => {
    await Promise.all([entra.close(), daemon.close()]);
    pki.remove();
    fs.rmSync(context, { recursive: true, force: true });
  });
  beforeEach(() => {
    recordDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bkb-perm-record-'));
  });
  afterEach(async () => {
    await acr?.close();
    acr = undefined;
    fs.rmSync(recordDir, { recursive: true, force: true });
  });

  const connection = (): Endpoint => ({
    url: 'https://management.azure.com/',
    scheme: 'ServicePrincipal',
    parameters: {
      serviceprincipalid: SP_ID,
      authenticationType: 'spnKey',
      serviceprincipalkey: spSecret,
      tenantid: TENANT,
    },
    data: { environment: 'AzureCloud', activeDirectoryAuthority: entra.authority },
  });

  async function run(
    options: AcrOptions,
    inputs: (host: string) => Record<string, string> = () => ({}),
  ): Promise<TaskRun> {
    acr = await startAcr(pki, book, options);
    return runTask({
      entry,
      inputs: {
        azureSubscription: ARM,
        acr: acr.host,
        repository: 'team/app',
        tags: 'v1',
        context,
        buildkitAddress: daemon.address,
        ...inputs(acr.host),
      },
      variables: { 'System.Debug': 'true' },
      endpoints: { [ARM]: connection() },
      env: { NODE_EXTRA_CA_CERTS: pki.caFile, FAKE_BUILDCTL_RECORD_DIR: recordDir },
      pathPrepend: [fakeBuildctlDir],
      cwd: context,
      timeoutMs: 45_000,
    });
  }

  function assertNoTokenPrinted(result: TaskRun): void {
    const secrets = [
      spSecret,
      ...book.all(),
      ...(acr?.issued.map((i) => i.refreshToken) ?? []),
      ...(acr?.accessTokens.map((t) => t.token) ?? []),
    ];
    const printed = `${result.stdout}\n${result.stderr}`
      .split('\n')
      .filter((l) => !l.includes('##vso[task.setsecret]'))
      .join('\n');
    for (const secret of secrets) assert.ok(!printed.includes(secret), `${secret.slice(0, 14)}... printed`);
    const masked = new Set(result.commands.filter((c) => c.name === 'task.setsecret').map((c) => c.message));
    for (const t of acr?.accessTokens ?? []) assert.ok(masked.has(t.token), 'the access token was masked');
  }

  it('a refused push scope stops the task before buildctl build runs, naming identity, repository and roles', async () => {
    const result = await run({ grants: { 'team/app': ['pull'] } });
    assert.equal(result.result, 'Failed');
    const message = result.resultMessage ?? '';
    assert.ok(
      message.includes(
        `service principal ${SP_ID} (secret) may not push on ${acr?.host ?? '?'}/team/app: the registry granted it pull there. Assign it the AcrPush role on the registry`,
      ),
      message,
    );
    assert.match(
      message,
      /assign Container Registry Repository Writer \(or Container Registry Repository Contributor\) for that repository instead/,
    );
    assert.match(message, /Nothing was built/);
    assert.deepEqual(
      acr?.accessTokens.map((t) => [t.scope, t.granted]),
      [['repository:team/app:pull,push', ['pull']]],
    );
    assert.deepEqual(
      readInvocations(recordDir).filter((i) => commandOf(i) === 'build'),
      [],
      'buildctl build never ran',
    );
    assertNoTokenPrinted(result);
  });

  it('a granted push lets the build run; another cache repository is asked for too', async () => {
    const result = await run(
      { grants: { 'team/app': ['pull', 'push'], 'cache/app': ['pull', 'push', 'delete'] } },
      (host) => ({
        cacheRef: `${host}/cache/app:bc`,
      }),
    );
    assert.equal(result.result, 'Succeeded', result.resultMessage);
    assert.deepEqual(
      acr?.accessTokens.map((t) => [t.scope, t.granted]),
      [
        ['repository:team/app:pull,push', ['pull', 'push']],
        ['repository:cache/app:pull,push', ['pull', 'push']],
      ],
    );
    assert.match(
      result.stdout,
      /The registry grants service principal \S+ \(secret\) what the build needs: repository:team\/app:pull,push repository:cache\/app:pull,push\./,
    );
    assert.equal(readInvocations(recordDir).filter((i) => commandOf(i) === 'build').length, 1);
    assertNoTokenPrinted(result);
  });

  it('a refused push on the cache repository only also stops the build, naming that repository', async () => {
    const result = await run({ grants: { 'cache/app': ['pull'] } }, (host) => ({
      cacheRef: `${host}/cache/app:bc`,
    }));
    assert.equal(result.result, 'Failed');
    assert.match(
      result.resultMessage ?? '',
      /may not push on \S+\/cache\/app: the registry granted it pull there/,
    );
    assert.doesNotMatch(result.resultMessage ?? '', /team\/app:/);
    assert.deepEqual(
      readInvocations(recordDir).filter((i) => commandOf(i) === 'build'),
      [],
    );
    assertNoTokenPrinted(result);
  });

  it('a validation build needs pull only: AcrPull is named when even that is missing', async () => {
    const result = await run({ grants: { 'team/app': [] } }, () => ({ push: 'false' }));
    assert.equal(result.result, 'Failed');
    assert.match(
      result.resultMessage ?? '',
      /may not pull on \S+\/team\/app: the registry granted it nothing there\. Assign it the AcrPull role/,
    );
    assert.match(result.resultMessage ?? '', /assign Container Registry Repository Reader/);
    assertNoTokenPrinted(result);
  });
});
