import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  startTask,
  type Endpoint,
  type StartedTask,
  type TaskRun,
  type TaskRunOptions,
} from '../support/agent';
import { commandOf, fakeBuildctlDir, fakeBuildctlEnv, readInvocations } from '../support/fakeBuildctl';
import { refusedAddress, startFakeDaemon, type FakeDaemon } from '../support/fakeDaemon';
import { bundledTaskEntry } from '../support/repo';
import { startAcr, type AcrOptions, type FakeAcr } from '../support/servers/acr';
import { startDevOpsOidc, type FakeDevOpsOidc } from '../support/servers/devopsOidc';
import { startEntra, type EntraOptions, type FakeEntra } from '../support/servers/entra';
import { startImds, type FakeImds } from '../support/servers/imds';
import {
  secretValue,
  TokenBook,
  type LoopbackServer,
  type Reply,
  type ServerFault,
} from '../support/servers/loopback';
import { createTestPki, type TestPki } from '../support/servers/pki';
import { startFakeProxy, type FakeProxy } from '../support/servers/proxy';
import { assertNoLeaks, assertNoStackTrace, freshHome } from '../support/leaks';
import { systemVssConnection } from '../support/connections';

/**
 * Credential faults against the bundled task: every party of the credential phase (Entra ID, the Azure
 * DevOps OIDC endpoint, the managed identity endpoint, ACR's token exchange, the agent's proxy) hangs,
 * throttles for an hour or refuses, in turn. Each case checks what the user reads, that the task ended
 * without waiting for the party (a short BuildKitBuild.CredentialTimeoutSeconds, or a signal), and the
 * leak scans of the other prove suites.
 */

const TENANT = '5e6f7a8b-1c2d-4e3f-8a9b-0c1d2e3f4a5b';
const SP_SECRET_ID = 'c3c3c3c3-0000-4000-8000-000000000001';
const WIF_ID = 'c3c3c3c3-0000-4000-8000-000000000003';
const MSI_CLIENT_ID = 'c3c3c3c3-0000-4000-8000-000000000004';
const ARM = 'ARM-CRED-FAULTS';
/** Short enough to keep the suite fast, long enough for a loopback answer under load. */
const BOUND = { 'BuildKitBuild.CredentialTimeoutSeconds': '1' };
/** So long that only a signal can end the wait before mocha's timeout. */
const UNBOUNDED = { 'BuildKitBuild.CredentialTimeoutSeconds': '3600' };

type Auth = 'secret' | 'wrongSecret' | 'federated' | 'managed';

interface Arrangement {
  readonly auth?: Auth;
  readonly entra?: Pick<EntraOptions, 'script' | 'fault'>;
  readonly oidc?: { readonly script?: readonly Reply[]; readonly fault?: ServerFault };
  readonly imds?: ServerFault;
  readonly acr?: AcrOptions;
  readonly variables?: Record<string, string>;
  /** The connection names an authority where nothing listens. */
  readonly authorityRefused?: boolean;
  /** The agent's proxy requires these credentials; the agent is configured with `agentPassword`. */
  readonly proxy?: { readonly password: string; readonly agentPassword?: string };
}

type Expected =
  { readonly result: 'Succeeded' } | { readonly result: 'Failed' | 'Cancelled'; readonly message: RegExp };

interface World {
  entra?: FakeEntra;
  oidc?: FakeDevOpsOidc;
  imds?: FakeImds;
  acr?: FakeAcr;
  proxy?: FakeProxy;
  readonly home: string;
  readonly records: string;
  readonly held: string[];
}

interface CredentialCase {
  readonly what: string;
  readonly expected: Expected;
  readonly arrangement: Arrangement;
  /** Default: one run to its end. */
  execute?(w: World, options: TaskRunOptions): Promise<TaskRun>;
  check?(w: World, run: TaskRun): void;
}

const tokenPosts = (server: LoopbackServer | undefined) =>
  server?.requests.filter((r) => r.method === 'POST' || r.path.includes('/oauth2/token')) ?? [];

/** Starts the task, waits until `server` holds a request it will never answer, then sends SIGTERM. */
async function terminateWhilePending(
  options: TaskRunOptions,
  server: () => LoopbackServer | undefined,
  isPending: (path: string) => boolean,
): Promise<TaskRun> {
  const task: StartedTask = startTask(options);
  const target = server();
  assert.ok(target, 'the server to hang is running');
  const arrived = target.received((r) => isPending(r.path));
  const first = await Promise.race([
    arrived.then(() => 'pending' as const),
    task.done.then(() => 'ended' as const),
  ]);
  assert.equal(first, 'pending', 'the task reached the hanging request before it ended');
  task.child.kill('SIGTERM');
  return task.done;
}

const CASES: CredentialCase[] = [
  // ---- no answer at all: a bounded wait, then a message naming the endpoint -----------------------------
  {
    what: 'Entra ID never answers the token request',
    expected: {
      result: 'Failed',
      message:
        /^Entra ID \(https:\/\/127\.0\.0\.1:\d+\/[0-9a-f-]+\/oauth2\/v2\.0\/token\) did not answer within 1 seconds, even after retries\. The service connection is not at fault/,
    },
    arrangement: { entra: { fault: 'neverAnswer' }, variables: BOUND },
    check: (w) => {
      assert.ok(tokenPosts(w.entra).length > 1, 'the timed-out request was retried');
      assert.deepEqual(w.acr?.requests, [], 'nothing to exchange');
    },
  },
  {
    what: 'the Azure DevOps OIDC endpoint never answers (workload identity)',
    expected: {
      result: 'Failed',
      message:
        /^the Azure DevOps OIDC endpoint \(https:\/\/127\.0\.0\.1:\d+\/bkb-org\/\S+\/oidctoken\) did not answer within 1 seconds/,
    },
    arrangement: { auth: 'federated', oidc: { fault: 'neverAnswer' }, variables: BOUND },
    check: (w) => {
      assert.deepEqual(tokenPosts(w.entra), [], 'no assertion to present to Entra ID');
    },
  },
  {
    what: 'the managed identity endpoint never answers',
    expected: {
      result: 'Failed',
      message:
        /^the managed identity endpoint \(http:\/\/127\.0\.0\.1:\d+\/metadata\/identity\/oauth2\/token\/?\) did not answer within 1 seconds/,
    },
    arrangement: { auth: 'managed', imds: 'neverAnswer', variables: BOUND },
    check: (w) => {
      assert.ok((w.imds?.requests.length ?? 0) >= 1);
      assert.deepEqual(w.acr?.requests, []);
    },
  },
  {
    what: "the registry's token exchange never answers",
    expected: {
      result: 'Failed',
      message:
        /^the registry's token exchange \(https:\/\/127\.0\.0\.1:\d+\/oauth2\/exchange\) did not answer within 1 seconds, even after retries/,
    },
    arrangement: { acr: { fault: 'neverAnswer' }, variables: BOUND },
    check: (w) => {
      assert.equal(w.acr?.requests.length, 5, 'the first attempt and four retries');
    },
  },
  // ---- 429 with Retry-After: 3600: the wait is cut to the bound, and the log says so -------------------------
  {
    what: 'Entra ID throttles with Retry-After: 3600 on every attempt',
    expected: {
      result: 'Failed',
      message:
        /^Entra ID could not issue a token to service principal \S+ \(secret\) because the service did not answer properly/,
    },
    arrangement: { entra: { fault: 'retryAfter3600' }, variables: BOUND },
    check: (w, run) => {
      assert.match(
        run.stdout,
        /https:\/\/127\.0\.0\.1:\d+\/\S+\/oauth2\/v2\.0\/token asked to wait 3600 s before trying again \(Retry-After\); waiting 1 s instead, the most the pipeline variable BuildKitBuild\.CredentialTimeoutSeconds allows/,
      );
      assert.ok(tokenPosts(w.entra).length > 1, 'retried after the cut wait');
    },
  },
  {
    what: 'the OIDC endpoint throttles with Retry-After: 3600 (workload identity)',
    expected: {
      result: 'Failed',
      message:
        /^The Azure DevOps OIDC request of workload identity federation \(POST https:\/\/127\.0\.0\.1:\d+\/\S+\/oidctoken\) failed with HTTP 429: .*run the pipeline again later/,
    },
    arrangement: { auth: 'federated', oidc: { fault: 'retryAfter3600' }, variables: BOUND },
    check: (w, run) => {
      assert.match(
        run.stdout,
        /\/oidctoken asked to wait 3600 s before trying again \(Retry-After\); waiting 1 s/,
      );
      assert.ok((w.oidc?.requests.length ?? 0) > 1, 'retried after the cut wait');
    },
  },
  {
    what: 'the managed identity endpoint throttles with Retry-After: 3600',
    expected: {
      result: 'Failed',
      message:
        /^Entra ID could not issue a token to managed identity \S+ because the service did not answer properly/,
    },
    arrangement: { auth: 'managed', imds: 'retryAfter3600', variables: BOUND },
    check: (w, run) => {
      assert.match(
        run.stdout,
        /\/metadata\/identity\/oauth2\/token\/? asked to wait 3600 s .*waiting 1 s instead/,
      );
      assert.ok((w.imds?.requests.length ?? 0) > 1, 'retried after the cut wait');
    },
  },
  {
    what: "the registry's token exchange throttles with Retry-After: 3600",
    expected: {
      result: 'Failed',
      message: /^The token exchange at 127\.0\.0\.1:\d+ failed \(HTTP 429\)/,
    },
    arrangement: { acr: { fault: 'retryAfter3600' }, variables: BOUND },
    check: (w, run) => {
      assert.match(run.stdout, /\/oauth2\/exchange asked to wait 3600 s .*waiting 1 s instead/);
      assert.match(run.stdout, /answered HTTP 429 to the token exchange; attempt 2 in 1\.0 s/);
      assert.equal(w.acr?.requests.length, 5);
    },
  },
  // ---- a signal while a request hangs: Cancelled at once, credentials gone --------------------------------
  {
    what: 'SIGTERM while Entra ID holds the token request',
    expected: { result: 'Cancelled', message: /^The build was cancelled \(SIGTERM\)/ },
    arrangement: { entra: { fault: 'neverAnswer' }, variables: UNBOUNDED },
    execute: (w, options) =>
      terminateWhilePending(
        options,
        () => w.entra,
        (p) => p.endsWith('/oauth2/v2.0/token'),
      ),
  },
  {
    what: 'SIGTERM while the OIDC endpoint holds the request (workload identity)',
    expected: { result: 'Cancelled', message: /^The build was cancelled \(SIGTERM\)/ },
    arrangement: { auth: 'federated', oidc: { fault: 'neverAnswer' }, variables: UNBOUNDED },
    execute: (w, options) =>
      terminateWhilePending(
        options,
        () => w.oidc,
        (p) => p.endsWith('/oidctoken'),
      ),
  },
  {
    what: 'SIGTERM while the managed identity endpoint holds the request',
    expected: { result: 'Cancelled', message: /^The build was cancelled \(SIGTERM\)/ },
    arrangement: { auth: 'managed', imds: 'neverAnswer', variables: UNBOUNDED },
    execute: (w, options) =>
      terminateWhilePending(
        options,
        () => w.imds,
        (p) => p.includes('/oauth2/token'),
      ),
  },
  {
    what: "SIGTERM while the registry's token exchange holds the request",
    expected: { result: 'Cancelled', message: /^The build was cancelled \(SIGTERM\)/ },
    arrangement: { acr: { fault: 'neverAnswer' }, variables: UNBOUNDED },
    execute: (w, options) =>
      terminateWhilePending(
        options,
        () => w.acr,
        (p) => p === '/oauth2/exchange',
      ),
  },
  {
    what: 'SIGTERM while waiting out a Retry-After of Entra ID (cut to 10 minutes)',
    expected: { result: 'Cancelled', message: /^The build was cancelled \(SIGTERM\)/ },
    arrangement: {
      entra: { fault: 'retryAfter3600' },
      variables: { 'BuildKitBuild.CredentialTimeoutSeconds': '600' },
    },
    execute: async (w, options) => {
      const task = startTask(options);
      await Promise.race([task.waitForOutput('asked to wait 3600 s'), task.done]);
      task.child.kill('SIGTERM');
      return task.done;
    },
    check: (w) => {
      assert.equal(tokenPosts(w.entra).length, 1, 'no second attempt');
    },
  },
  // ---- refusals: named for who refused, no second audience for an identity error -------------------------------
  {
    what: 'Entra ID refuses the client secret (invalid_client, AADSTS7000215)',
    expected: {
      result: 'Failed',
      message:
        /^Entra ID refused the identity service principal \S+ \(secret\): .*AADSTS7000215.*No other audience was tried.*client secret may have expired/,
    },
    arrangement: { auth: 'wrongSecret' },
    check: (w) => {
      assert.equal(tokenPosts(w.entra).length, 1, 'one token request: no second audience');
      assert.deepEqual(w.acr?.requests, []);
    },
  },
  {
    what: 'the OIDC endpoint refuses the System.AccessToken (401, workload identity)',
    expected: {
      result: 'Failed',
      message:
        /^The Azure DevOps OIDC request of workload identity federation \(POST https:\/\/127\.0\.0\.1:\d+\/\S+\/oidctoken\) failed with HTTP 401: TF400813: .*did not accept the job's access token/,
    },
    arrangement: {
      auth: 'federated',
      oidc: {
        script: Array.from({ length: 10 }, () => ({
          status: 401,
          body: { message: 'TF400813: The user is not authorized to access this resource.' },
        })),
      },
    },
    check: (w) => {
      assert.equal(w.oidc?.requests.length, 1, 'a 401 is not retried, and no other audience is tried');
      assert.deepEqual(tokenPosts(w.entra), []);
    },
  },
  {
    what: 'the OIDC endpoint fails with 500 on every attempt (workload identity)',
    expected: {
      result: 'Failed',
      message:
        /^The Azure DevOps OIDC request of workload identity federation \(POST \S+\/oidctoken\) failed with HTTP 500: .*Azure DevOps did not issue the token even after retries; the service connection is not at fault/,
    },
    arrangement: {
      auth: 'federated',
      oidc: {
        script: Array.from({ length: 20 }, () => ({
          status: 500,
          headers: { 'Retry-After': '0' },
          body: { message: 'internal error' },
        })),
      },
    },
    check: (w) => {
      assert.ok((w.oidc?.requests.length ?? 0) > 1, 'retried');
      assert.deepEqual(tokenPosts(w.entra), []);
    },
  },
  {
    what: 'nothing listens at the Entra ID authority',
    expected: {
      result: 'Failed',
      message:
        /^Could not reach Entra ID at https:\/\/127\.0\.0\.1:\d+\/\S+: .*ECONNREFUSED.*The service connection is not at fault/,
    },
    arrangement: { authorityRefused: true },
    check: (w) => {
      assert.deepEqual(w.acr?.requests, []);
    },
  },
  // ---- the agent's proxy ------------------------------------------------------------------------------------------
  {
    what: 'the proxy password holds %, @ and :',
    expected: { result: 'Succeeded' },
    arrangement: { proxy: { password: `p%41ss@w:rd%zz-${secretValue('x')}` } },
    check: (w) => {
      const targets = new Set(w.proxy?.tunnels.map((t) => t.target));
      assert.ok(targets.has(new URL(w.entra?.authority ?? 'https://x/').host), 'Entra ID through the proxy');
      assert.ok(targets.has(w.acr?.host ?? ''), 'the exchange through the proxy');
      assert.equal(w.acr?.issued.length, 1);
    },
  },
  {
    what: "the proxy refuses the agent's proxy password (407)",
    expected: {
      result: 'Failed',
      message:
        /^The agent's web proxy refused the connection to Entra ID \(https:\/\/127\.0\.0\.1:\d+\/\S+\) with HTTP 407.*The service connection is not at fault/,
    },
    arrangement: {
      proxy: { password: `right-${secretValue('x')}`, agentPassword: `wrong-${secretValue('y')}` },
    },
    check: (w) => {
      assert.deepEqual(w.acr?.requests, []);
    },
  },
];

describe('credential faults: hangs, hour-long throttling, signals, refusals and the proxy (black-box, bundled task)', function () {
  this.timeout(90_000);
  let pki: TestPki;
  let book: TokenBook;
  let entry: string;
  let daemon: FakeDaemon;
  let context: string;
  let world: World | undefined;
  const spSecret = secretValue('sp-secret');
  const systemAccessToken = secretValue('system-access-token');

  before(async () => {
    entry = await bundledTaskEntry();
    pki = createTestPki();
    book = new TokenBook();
    daemon = await startFakeDaemon();
    context = fs.mkdtempSync(path.join(os.tmpdir(), 'bkb-credfaults-context-'));
    fs.writeFileSync(path.join(context, 'Dockerfile'), 'FROM alpine:3.20\nRUN make\n');
  });

  after(async () => {
    await daemon.close();
    pki.remove();
    fs.rmSync(context, { recursive: true, force: true });
  });

  afterEach(async () => {
    const w = world;
    world = undefined;
    if (w === undefined) return;
    await Promise.all([w.entra?.close(), w.oidc?.close(), w.imds?.close(), w.acr?.close(), w.proxy?.close()]);
    for (const dir of [w.home, w.records]) fs.rmSync(dir, { recursive: true, force: true });
  });

  function armEndpoint(auth: Auth, authority: string): Endpoint {
    const data = {
      environment: 'AzureCloud',
      activeDirectoryAuthority: authority,
      subscriptionId: 'c0ffee00-0000-4000-8000-000000000000',
    };
    const url = 'https://management.azure.com/';
    switch (auth) {
      case 'federated':
        return {
          url,
          scheme: 'WorkloadIdentityFederation',
          parameters: { serviceprincipalid: WIF_ID, tenantid: TENANT },
          data,
        };
      case 'managed':
        return {
          url,
          scheme: 'ManagedServiceIdentity',
          parameters: { tenantid: TENANT },
          data: { ...data, msiclientId: MSI_CLIENT_ID },
        };
      default:
        return {
          url,
          scheme: 'ServicePrincipal',
          parameters: {
            serviceprincipalid: SP_SECRET_ID,
            authenticationType: 'spnKey',
            serviceprincipalkey: auth === 'wrongSecret' ? `${spSecret}-old` : spSecret,
            tenantid: TENANT,
          },
          data,
        };
    }
  }

  async function prepare(w: World, a: Arrangement): Promise<TaskRunOptions> {
    const auth = a.auth ?? 'secret';
    const oidc = await startDevOpsOidc(pki, book, systemAccessToken, a.oidc ?? {});
    w.oidc = oidc;
    w.entra = await startEntra(pki, book, {
      tenant: TENANT,
      clients: [
        { clientId: SP_SECRET_ID, secret: spSecret },
        { clientId: WIF_ID, federated: (assertion) => oidc.issued.some((i) => i.token === assertion) },
      ],
      ...a.entra,
    });
    w.imds = await startImds(book, TENANT, a.imds === undefined ? {} : { fault: a.imds });
    w.acr = await startAcr(pki, book, a.acr);
    const variables: Record<string, string> = { 'System.OidcRequestUri': oidc.requestUri, ...a.variables };
    const env: Record<string, string> = {
      HOME: w.home,
      NODE_EXTRA_CA_CERTS: pki.caFile,
      AZURE_POD_IDENTITY_AUTHORITY_HOST: w.imds.origin,
      ...fakeBuildctlEnv(w.records),
    };
    if (a.proxy !== undefined) {
      w.proxy = await startFakeProxy({ credentials: { username: 'builder', password: a.proxy.password } });
      variables['Agent.ProxyUrl'] = w.proxy.url;
      variables['Agent.ProxyUsername'] = 'builder';
      // The agent hands the proxy password over as a secret variable.
      env.SECRET_AGENT_PROXYPASSWORD = a.proxy.agentPassword ?? a.proxy.password;
      w.held.push(a.proxy.password, encodeURIComponent(a.proxy.password));
      if (a.proxy.agentPassword !== undefined) w.held.push(a.proxy.agentPassword);
    }
    return {
      entry,
      inputs: {
        azureSubscription: ARM,
        acr: w.acr.host,
        repository: 'team/app',
        tags: 'v1',
        context,
        buildkitAddress: daemon.address,
      },
      variables,
      endpoints: {
        [ARM]: armEndpoint(
          auth,
          a.authorityRefused === true
            ? `https://${(await refusedAddress()).slice('tcp://'.length)}/`
            : w.entra.authority,
        ),
        ...systemVssConnection(systemAccessToken),
      },
      env,
      pathPrepend: [fakeBuildctlDir],
      cwd: context,
      timeoutMs: 60_000,
    };
  }

  for (const c of CASES) {
    const outcome = c.expected.result.toLowerCase();
    it(`${c.what}: ${outcome}`, async () => {
      const w: World = {
        home: freshHome(),
        records: fs.mkdtempSync(path.join(os.tmpdir(), 'bkb-credfaults-records-')),
        held: [spSecret, systemAccessToken],
      };
      world = w;
      const options = await prepare(w, c.arrangement);
      const run = c.execute ? await c.execute(w, options) : await startTask(options).done;
      try {
        const explain = `${run.result ?? '(no result)'}: ${run.resultMessage ?? ''}\n${run.stdout}\n${run.stderr}`;
        assert.equal(run.result, c.expected.result, explain);
        if (c.expected.result !== 'Succeeded')
          assert.match(run.resultMessage ?? '', c.expected.message, explain);
        if (c.expected.result !== 'Succeeded') {
          assert.deepEqual(
            readInvocations(w.records).filter((i) => commandOf(i) === 'build'),
            [],
            'nothing was built',
          );
        }
        assertNoStackTrace(run);
        // task-lib echoes every variable it reads into the debug log; the agent masks that line itself
        // because Agent.ProxyPassword is a secret variable. Everywhere else the scan applies.
        const scanned = {
          ...run,
          stdout: run.stdout
            .split('\n')
            .filter((l) => !l.startsWith('##vso[task.debug]Agent.ProxyPassword='))
            .join('\n'),
        };
        assertNoLeaks(
          scanned,
          [...w.held, ...book.all(), ...(w.acr?.issued.map((i) => i.refreshToken) ?? [])],
          w.home,
        );
        c.check?.(w, run);
      } finally {
        fs.rmSync(run.tempDirectory, { recursive: true, force: true });
      }
    });
  }
});
