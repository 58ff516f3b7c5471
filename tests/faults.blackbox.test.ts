import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { rendezvousOrder } from '../tasks/BuildKitBuild/src/daemon/rendezvous';
import { releasePlatform } from '../tasks/BuildKitBuild/src/tool/platform';
import {
  startTask,
  type Endpoint,
  type StartedTask,
  type TaskRun,
  type TaskRunOptions,
} from './support/agent';
import {
  commandOf,
  fakeBuildctlDir,
  fakeBuildctlEnv,
  flagValue,
  readInvocations,
  type FakeBuildctlBehaviour,
  type FakeBuildctlInvocation,
} from './support/fakeBuildctl';
import {
  refusedAddress,
  startFakeDaemon,
  writeFakePem,
  type FakeDaemon,
  type FakeDaemonOptions,
} from './support/fakeDaemon';
import { ReleaseMirror, type MirrorFault } from './support/mirror';
import { bundledTaskEntry } from './support/repo';
import { startAcr, type AcrOptions, type FakeAcr } from './support/servers/acr';
import { startDevOpsOidc, type FakeDevOpsOidc } from './support/servers/devopsOidc';
import { startEntra, type EntraOptions, type FakeEntra } from './support/servers/entra';
import { secretValue, TokenBook, type Reply } from './support/servers/loopback';
import { createTestPki, type TestPki } from './support/servers/pki';
import { assertNoLeaks, assertNoStackTrace, freshHome, pemSecretLines } from './support/leaks';
import { dockerRegistryConnection, systemVssConnection } from './support/connections';

/**
 * The fault matrix: every remote party the task talks to (Entra ID, Azure DevOps' OIDC endpoint, ACR's
 * token exchange, the release mirror, the daemons, buildctl itself, the agent) misbehaves in turn, on
 * loopback servers and the fake buildctl. Each case states what the user gets (a success after retries,
 * or a failure with the message fragment they read) and checks it, then scans the whole output for every
 * secret the servers issued or the connections held and the temp and home directories for credential
 * files.
 */

const TENANT = '7c1d2e3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f';
const SP_SECRET_ID = 'b2b2b2b2-0000-4000-8000-000000000001';
const SP_CERT_ID = 'b2b2b2b2-0000-4000-8000-000000000002';
const WIF_ID = 'b2b2b2b2-0000-4000-8000-000000000003';
const ARM = 'ARM-FAULTS';
const HUB = 'HUB-FAULTS';
const here = releasePlatform(process.platform, os.arch());

/** How the registry is reached in a case. */
type Auth = 'secret' | 'certificate' | 'federated' | 'docker';

/** What the user gets. */
type Expected =
  | { readonly result: 'Succeeded'; readonly note: string }
  | { readonly result: 'Failed' | 'Cancelled'; readonly message: RegExp };

/** What a case changes in the default run (Azure service principal, one healthy daemon, buildctl on PATH). */
interface Arrangement {
  readonly auth?: Auth;
  readonly entra?: Pick<EntraOptions, 'script' | 'delayMs'>;
  readonly oidc?: readonly Reply[];
  readonly acr?: AcrOptions;
  /** buildkitAddress lines (default: the suite's healthy daemon). */
  readonly addresses?: readonly string[];
  /** Put this address first in rendezvous order by choosing the repository. */
  readonly first?: string;
  readonly inputs?: Record<string, string>;
  readonly variables?: Record<string, string>;
  readonly behaviour?: FakeBuildctlBehaviour;
  /** Install buildctl from this mirror into the test's tool cache instead of using it from PATH. */
  readonly mirror?: { readonly faults?: readonly MirrorFault[]; readonly pin?: 'right' | 'wrong' };
}

interface FaultCase {
  readonly what: string;
  readonly expected: Expected;
  arrange(w: World): Promise<Arrangement> | Arrangement;
  /** Runs the task(s); default: one run to its end. */
  execute?(w: World, options: TaskRunOptions): Promise<TaskRun[]>;
  check?(w: World, runs: readonly TaskRun[], arranged: Arrangement): void;
}

/** What one test has at hand: the servers it started, its directories, the fake's records. */
interface World {
  readonly pki: TestPki;
  readonly book: TokenBook;
  readonly scratch: string;
  readonly home: string;
  readonly records: string;
  readonly daemon: FakeDaemon;
  entra?: FakeEntra;
  oidc?: FakeDevOpsOidc;
  acr?: FakeAcr;
  /** A release mirror: every test has one, only cases that install use it. */
  readonly mirror: ReleaseMirror;
  archivePath?: string;
  /** Secret values the connections of this run held (besides the ones servers issued). */
  readonly held: string[];
  startDaemon(options?: FakeDaemonOptions): Promise<FakeDaemon>;
  builds(): FakeBuildctlInvocation[];
  preflights(): FakeBuildctlInvocation[];
}

const retryAfterZero = (status: number): Reply => ({
  status,
  headers: { 'Retry-After': '0' },
  body: { error: 'temporarily_unavailable', error_description: `fault ${status}` },
});
const times = (n: number, reply: Reply): Reply[] => Array.from({ length: n }, () => reply);

/** A repository whose rendezvous order of `addresses` puts `first` first. */
function repositoryPutting(first: string, addresses: readonly string[]): string {
  for (let i = 0; i < 10_000; i++) {
    const repository = i === 0 ? 'team/app' : `team/app${i}`;
    if (rendezvousOrder(addresses, repository)[0] === first) return repository;
  }
  throw new Error('no repository puts the address first');
}

/** Starts the task, and once buildctl is in the middle of `RUN make`, lets `act` strike. */
async function midBuild(options: TaskRunOptions, act: (task: StartedTask) => void): Promise<TaskRun[]> {
  const task = startTask(options);
  await Promise.race([task.waitForOutput('#6 [2/3] RUN make'), task.done]);
  act(task);
  return [await task.done];
}

const CASES: FaultCase[] = [
  // ---- Entra ID ------------------------------------------------------------------------------------
  {
    what: 'Entra ID answers 500 once',
    expected: { result: 'Succeeded', note: 'retried to success' },
    arrange: () => ({ entra: { script: [{ status: 500, body: { error: 'server_error' } }] } }),
    check: (w) => {
      assert.equal(w.entra?.requests.filter((r) => r.method === 'POST').length, 2, 'one retry');
      assert.equal(w.acr?.issued.length, 1);
    },
  },
  {
    what: 'Entra ID answers 503 on every attempt',
    expected: {
      result: 'Failed',
      message:
        /^Entra ID could not issue a token to service principal \S+ \(secret\) because the service did not answer properly.*temporarily_unavailable.*run the pipeline again later/,
    },
    arrange: () => ({ entra: { script: times(40, retryAfterZero(503)) } }),
    check: (w) => {
      const posts = w.entra?.requests.filter((r) => r.method === 'POST') ?? [];
      assert.ok(posts.length > 2, `retried before giving up (${posts.length} requests)`);
      assert.deepEqual(w.acr?.requests, [], 'nothing to exchange');
    },
  },
  {
    what: 'Entra ID throttles with 429 and Retry-After: 1',
    expected: { result: 'Succeeded', note: 'retried after the Retry-After delay' },
    arrange: () => ({
      auth: 'certificate',
      entra: {
        script: [
          {
            status: 429,
            headers: { 'Retry-After': '1' },
            body: { error: 'temporarily_unavailable', error_description: 'AADSTS50196: throttled' },
          },
        ],
      },
    }),
    check: (w) => {
      assert.equal(w.entra?.requests.filter((r) => r.method === 'POST').length, 2, 'one retry');
      assert.equal(w.acr?.issued.length, 1);
    },
  },
  {
    what: 'Entra ID is slow (every token answer after 2 s)',
    expected: { result: 'Succeeded', note: 'waits, no retry' },
    arrange: () => ({ entra: { delayMs: 2000 } }),
    check: (w) => {
      assert.equal(w.entra?.requests.filter((r) => r.method === 'POST').length, 1, 'no retry');
      assert.equal(w.acr?.issued.length, 1);
    },
  },
  // ---- Azure DevOps OIDC (workload identity federation) ---------------------------------------------
  {
    what: 'the OIDC endpoint answers 503 once (workload identity)',
    expected: { result: 'Succeeded', note: 'retried to success' },
    arrange: () => ({ auth: 'federated', oidc: [retryAfterZero(503)] }),
    check: (w) => {
      assert.ok((w.oidc?.requests.length ?? 0) >= 2, 'retried');
      assert.equal(w.acr?.issued.length, 1);
    },
  },
  {
    what: 'the OIDC endpoint refuses the System.AccessToken (401, workload identity)',
    expected: {
      result: 'Failed',
      message:
        /^The Azure DevOps OIDC request of workload identity federation \(POST https:\/\/127\.0\.0\.1:\d+\/\S+\/oidctoken\) failed with HTTP 401: TF400813: .*did not accept the job's access token/,
    },
    arrange: () => ({
      auth: 'federated',
      oidc: times(20, {
        status: 401,
        body: { message: 'TF400813: The user is not authorized to access this resource.' },
      }),
    }),
    check: (w) => {
      assert.deepEqual(
        w.entra?.requests.filter((r) => r.method === 'POST'),
        [],
        'no assertion to present',
      );
      assert.deepEqual(w.acr?.requests, []);
    },
  },
  {
    what: 'the OIDC endpoint answers 503 on every attempt (workload identity)',
    expected: {
      result: 'Failed',
      message:
        /^The Azure DevOps OIDC request of workload identity federation \(POST \S+\/oidctoken\) failed with HTTP 503: .*the service connection is not at fault: run the pipeline again later/,
    },
    arrange: () => ({ auth: 'federated', oidc: times(40, retryAfterZero(503)) }),
    check: (w) => {
      assert.ok((w.oidc?.requests.length ?? 0) > 2, 'retried before giving up');
      assert.deepEqual(w.acr?.requests, []);
    },
  },
  // ---- ACR token exchange ----------------------------------------------------------------------------
  {
    what: 'the exchange answers 401 to both audiences',
    expected: {
      result: 'Failed',
      message:
        /refused the token of service principal \S+ \(secret\) \(HTTP 401\): that identity needs the AcrPush role/,
    },
    arrange: () => ({
      acr: { script: times(2, { status: 401, body: { errors: [{ code: 'UNAUTHORIZED' }] } }) },
    }),
    check: (w) => {
      assert.equal(w.acr?.requests.length, 2, 'ACR audience, then ARM audience, no retry');
    },
  },
  {
    what: 'the exchange answers 401 while the only daemon never answers its pre-flight check',
    expected: {
      result: 'Failed',
      message: /\(HTTP 401\): that identity needs the AcrPush role/,
    },
    arrange: async (w) => {
      const silent = await w.startDaemon({ silent: true });
      return {
        addresses: [silent.address],
        // Far beyond mocha's timeout: the run ends only because the failed exchange stops the pre-flight.
        variables: { 'BuildKitBuild.PreflightTimeoutSeconds': '3600' },
        acr: { script: times(2, { status: 401, body: { errors: [{ code: 'UNAUTHORIZED' }] } }) },
      };
    },
    check: (w) => {
      assert.deepEqual(w.builds(), [], 'nothing built');
    },
  },
  {
    what: 'the exchange answers 403 to both audiences (validation build)',
    expected: {
      result: 'Failed',
      message: /\(HTTP 403\): that identity needs the AcrPull role on this registry/,
    },
    arrange: () => ({
      inputs: { push: 'false' },
      acr: { script: times(2, { status: 403, body: { errors: [{ code: 'DENIED' }] } }) },
    }),
    check: (w) => {
      assert.equal(w.acr?.requests.length, 2);
    },
  },
  {
    what: 'the exchange answers 401 to the ACR audience only',
    expected: { result: 'Succeeded', note: 'falls back to an ARM-audience token' },
    arrange: () => ({ acr: { script: [{ status: 401, body: { errors: [{ code: 'UNAUTHORIZED' }] } }] } }),
    check: (w, [run]) => {
      assert.equal(w.acr?.requests.length, 2);
      assert.match(run?.stdout ?? '', /obtained with an Azure Resource Manager-audience Entra ID token/);
    },
  },
  {
    what: 'the exchange answers 500 once',
    expected: { result: 'Succeeded', note: 'retried to success' },
    arrange: () => ({ acr: { script: [{ status: 500, body: { errors: [] } }] } }),
    check: (w, [run]) => {
      assert.equal(w.acr?.requests.length, 2);
      assert.match(run?.stdout ?? '', /answered HTTP 500 to the token exchange; attempt 2 in/);
    },
  },
  {
    what: 'the exchange answers 503 on every attempt',
    expected: {
      result: 'Failed',
      message: /^The token exchange at 127\.0\.0\.1:\d+ failed \(HTTP 503\): .*Try again later/,
    },
    arrange: () => ({ acr: { script: times(20, retryAfterZero(503)) } }),
    check: (w) => {
      assert.equal(w.acr?.requests.length, 5, 'the first attempt and four retries');
    },
  },
  // ---- Release mirror ----------------------------------------------------------------------------------
  {
    what: 'the mirror has no such release (404)',
    expected: {
      result: 'Failed',
      message:
        /^There is no BuildKit release archive at http:\/\/127\.0\.0\.1:\d+\/releases\/v0\.32\.2\/.*buildkitDownloadUrl/,
    },
    arrange: () => ({ mirror: { faults: [{ status: 404 }] } }),
    check: (w) => {
      assert.equal(w.mirror.requests.length, 1, 'a 404 is not retried');
    },
  },
  {
    what: 'the mirror answers 500 once',
    expected: { result: 'Succeeded', note: 'retried to success' },
    arrange: () => ({ mirror: { faults: [{ status: 500 }] } }),
    check: (w) => {
      assert.equal(w.mirror.requests.length, 2);
    },
  },
  {
    what: 'the mirror cuts the download off half-way',
    expected: { result: 'Succeeded', note: 'retried to success' },
    arrange: () => ({ mirror: { faults: [{ truncate: true }], pin: 'right' } }),
    check: (w) => {
      assert.equal(w.mirror.requests.length, 2);
    },
  },
  {
    what: 'the mirror serves half the archive as if it were complete',
    expected: { result: 'Failed', message: /is damaged or not a \.tar\.gz .*nothing was installed/ },
    arrange: () => ({ mirror: { faults: [{ short: true }] } }),
    check: (w) => {
      assert.deepEqual(w.builds(), []);
    },
  },
  {
    what: 'the archive does not have the pinned digest',
    expected: {
      result: 'Failed',
      message: /has sha256:[0-9a-f]{64}, but buildctlVersion pins sha256:0{64}; nothing was installed/,
    },
    arrange: () => ({ mirror: { pin: 'wrong' } }),
    check: (w) => {
      assert.deepEqual(w.builds(), []);
    },
  },
  // ---- Daemons -----------------------------------------------------------------------------------------
  {
    what: 'the first daemon refuses the connection',
    expected: { result: 'Succeeded', note: 'fails over to the next address' },
    arrange: async (w) => {
      const refused = await refusedAddress();
      return { auth: 'docker', addresses: [refused, w.daemon.address], first: refused };
    },
    check: (w, [run], arranged) => {
      assert.deepEqual(
        w.preflights().map((i) => flagValue(i.argv, '--addr')),
        [arranged.first, w.daemon.address],
      );
      assert.equal(run?.variables.buildkitAddress, w.daemon.address);
      assert.match(run.stdout, /Skipping buildkitd at tcp:\S+, trying the next one: Cannot connect/);
    },
  },
  {
    what: "the first daemon's certificate is signed by another CA",
    expected: { result: 'Succeeded', note: 'fails over to the next address' },
    arrange: async (w) => {
      const ca = writeFakePem(w.scratch, 'ca.pem');
      const otherCa = writeFakePem(w.scratch, 'other-ca.pem');
      const key = writeFakePem(w.scratch, 'key.pem', 'PRIVATE KEY');
      w.held.push(...pemSecretLines(fs.readFileSync(key, 'utf8')));
      const stranger = await w.startDaemon({ tls: { caFile: otherCa } });
      const good = await w.startDaemon({ tls: { caFile: ca } });
      return {
        auth: 'docker',
        addresses: [stranger.address, good.address],
        first: stranger.address,
        inputs: { tlsCaCert: ca, tlsCert: writeFakePem(w.scratch, 'cert.pem'), tlsKey: key },
      };
    },
    check: (w, [run]) => {
      assert.equal(w.preflights().length, 2);
      assert.equal(w.builds().length, 1);
      assert.match(run?.stdout ?? '', /presented a certificate that is not signed by the CA in tlsCaCert/);
    },
  },
  {
    what: 'the first daemon accepts but never answers (pre-flight timeout of 1 s)',
    expected: { result: 'Succeeded', note: 'fails over to the next address' },
    arrange: async (w) => {
      const silent = await w.startDaemon({ silent: true });
      return {
        auth: 'docker',
        addresses: [silent.address, w.daemon.address],
        first: silent.address,
        variables: { 'BuildKitBuild.PreflightTimeoutSeconds': '1' },
      };
    },
    check: (w, [run]) => {
      assert.equal(run?.variables.buildkitAddress, w.daemon.address);
      assert.match(run.stdout, /did not answer within 1 seconds/);
    },
  },
  {
    what: 'every daemon fails its pre-flight check (refused, silent, TLS required)',
    expected: {
      result: 'Failed',
      message: /^None of the 3 buildkitd addresses in buildkitAddress passed the pre-flight check/,
    },
    arrange: async (w) => {
      const silent = await w.startDaemon({ silent: true });
      const tlsOnly = await w.startDaemon({ tls: { caFile: writeFakePem(w.scratch, 'ca.pem') } });
      return {
        auth: 'docker',
        addresses: [await refusedAddress(), silent.address, tlsOnly.address],
        variables: { 'BuildKitBuild.PreflightTimeoutSeconds': '1' },
      };
    },
    check: (w, [run]) => {
      const reasons = (run?.resultMessage ?? '').split('\n').slice(1);
      assert.equal(reasons.length, 3, 'one line per daemon');
      for (const reason of [
        /^- Cannot connect to buildkitd at tcp:/,
        /^- buildkitd at tcp:\S+ closed the connection .*requires mutual TLS/,
        /^- buildkitd at tcp:\S+ did not answer within 1 seconds/,
      ]) {
        assert.equal(reasons.filter((r) => reason.test(r)).length, 1, String(reason));
      }
      assert.equal(w.preflights().length, 3);
      assert.deepEqual(w.builds(), [], 'nothing built');
    },
  },
  // ---- buildctl and the agent ---------------------------------------------------------------------------
  {
    what: 'buildctl crashes (Go panic) mid-build',
    expected: {
      result: 'Failed',
      message: /^The build failed: panic: runtime error: invalid memory address/,
    },
    arrange: () => ({ behaviour: { crash: true } }),
    check: (w) => {
      assert.equal(w.builds().length, 1, 'a started build is not retried');
    },
  },
  {
    what: 'buildctl is killed (SIGKILL) mid-build',
    expected: { result: 'Failed', message: /^The build failed: buildctl was killed by SIGKILL/ },
    arrange: () => ({ auth: 'docker', behaviour: { slowMs: 60_000 } }),
    execute: (w, options) =>
      midBuild(options, () => {
        const build = w.builds()[0];
        assert.ok(build, 'buildctl build started');
        process.kill(build.pid, 'SIGKILL');
      }),
    check: (w) => {
      assert.equal(w.builds().length, 1);
    },
  },
  {
    what: 'the agent sends SIGTERM to the task mid-build',
    expected: {
      result: 'Cancelled',
      message: /^The build was cancelled \(SIGTERM\); temporary credentials were removed/,
    },
    arrange: () => ({ behaviour: { slowMs: 60_000 } }),
    execute: (_w, options) => midBuild(options, (task) => task.child.kill('SIGTERM')),
    check: (w) => {
      const [build] = w.builds();
      assert.equal(build?.signal, 'SIGTERM', 'buildctl got the signal');
      assert.equal(build.exitCode, 143);
      const identity = JSON.stringify(build.dockerConfig);
      assert.ok(identity.includes(w.acr?.issued[0]?.refreshToken ?? '?'), 'buildctl had the credentials');
      assert.equal(fs.existsSync(build.env.DOCKER_CONFIG ?? ''), false, 'and they are gone');
    },
  },
  {
    what: 'eight task runs at once on one tool cache install the same version',
    expected: { result: 'Succeeded', note: 'one download, the others wait for it' },
    arrange: (w) => {
      // Long enough for all eight to find the lock taken.
      w.mirror.delayMs = 400;
      return { auth: 'docker', mirror: {} };
    },
    execute: async (_w, options) => {
      const tasks = Array.from({ length: 8 }, () => startTask(options));
      return Promise.all(tasks.map((t) => t.done));
    },
    check: (w, runs) => {
      assert.equal(runs.length, 8);
      assert.equal(w.mirror.requestsFor(w.archivePath ?? ''), 1, 'one download');
      assert.equal(w.builds().length, 8);
      const logs = runs.map((r) => r.stdout);
      assert.equal(logs.filter((l) => l.includes('Installed BuildKit 0.32.2 into the tool cache')).length, 1);
      assert.equal(logs.filter((l) => l.includes('Using BuildKit 0.32.2 from the tool cache')).length, 7);
    },
  },
];

describe('fault matrix: every remote party misbehaves in turn (black-box, bundled task)', function () {
  this.timeout(90_000);
  let pki: TestPki;
  let book: TokenBook;
  let entry: string;
  let daemon: FakeDaemon;
  let context: string;
  let world: World | undefined;
  const spSecret = secretValue('sp-secret');
  const systemAccessToken = secretValue('system-access-token');
  const hubPassword = secretValue('hub-password');
  const extraDaemons: FakeDaemon[] = [];

  before(async () => {
    entry = await bundledTaskEntry();
    pki = createTestPki();
    book = new TokenBook();
    daemon = await startFakeDaemon();
    context = fs.mkdtempSync(path.join(os.tmpdir(), 'bkb-faults-context-'));
    fs.writeFileSync(path.join(context, 'Dockerfile'), 'FROM alpine:3.20\nRUN make\nCOPY entrypoint.sh /\n');
    fs.writeFileSync(path.join(context, 'entrypoint.sh'), '#!/bin/sh\n');
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
    await Promise.all([
      w.entra?.close(),
      w.oidc?.close(),
      w.acr?.close(),
      w.mirror.close(),
      ...extraDaemons.splice(0).map((d) => d.close()),
    ]);
    for (const dir of [w.scratch, w.home, w.records]) fs.rmSync(dir, { recursive: true, force: true });
  });

  async function newWorld(): Promise<World> {
    const records = fs.mkdtempSync(path.join(os.tmpdir(), 'bkb-faults-records-'));
    const invocations = (command: string) => readInvocations(records).filter((i) => commandOf(i) === command);
    return {
      pki,
      book,
      scratch: fs.mkdtempSync(path.join(os.tmpdir(), 'bkb-faults-')),
      home: freshHome(),
      records,
      daemon,
      mirror: await ReleaseMirror.start(),
      held: [spSecret, systemAccessToken, hubPassword, ...pemSecretLines(pki.clientPem)],
      startDaemon: async (options) => {
        const started = await startFakeDaemon(options);
        extraDaemons.push(started);
        return started;
      },
      builds: () => invocations('build'),
      preflights: () => invocations('debug workers'),
    };
  }

  function armEndpoint(auth: Auth, entra: FakeEntra): Endpoint {
    const data = {
      environment: 'AzureCloud',
      activeDirectoryAuthority: entra.authority,
      subscriptionId: 'c0ffee00-0000-4000-8000-000000000000',
    };
    const url = 'https://management.azure.com/';
    switch (auth) {
      case 'certificate':
        return {
          url,
          scheme: 'ServicePrincipal',
          parameters: {
            serviceprincipalid: SP_CERT_ID,
            authenticationType: 'spnCertificate',
            servicePrincipalCertificate: pki.clientPem,
            tenantid: TENANT,
          },
          data,
        };
      case 'federated':
        return {
          url,
          scheme: 'WorkloadIdentityFederation',
          parameters: { serviceprincipalid: WIF_ID, tenantid: TENANT },
          data,
        };
      default:
        return {
          url,
          scheme: 'ServicePrincipal',
          parameters: {
            serviceprincipalid: SP_SECRET_ID,
            authenticationType: 'spnKey',
            serviceprincipalkey: spSecret,
            tenantid: TENANT,
          },
          data,
        };
    }
  }

  /** Starts what the arrangement needs and returns the agent's view of the run. */
  async function prepare(w: World, a: Arrangement): Promise<TaskRunOptions> {
    const auth = a.auth ?? 'secret';
    const inputs: Record<string, string> = {
      repository: 'team/app',
      tags: 'v1',
      context,
      buildkitAddress: (a.addresses ?? [daemon.address]).join('\n'),
    };
    const endpoints: Record<string, Endpoint> = systemVssConnection(systemAccessToken);
    const variables: Record<string, string> = { 'Agent.ToolsDirectory': path.join(w.scratch, 'tools') };
    if (auth === 'docker') {
      inputs.containerRegistry = HUB;
      endpoints[HUB] = dockerRegistryConnection('https://registry.example/', 'builder', hubPassword);
    } else {
      const oidc = await startDevOpsOidc(pki, book, systemAccessToken, { script: a.oidc });
      w.oidc = oidc;
      w.entra = await startEntra(pki, book, {
        tenant: TENANT,
        clients: [
          { clientId: SP_SECRET_ID, secret: spSecret },
          { clientId: SP_CERT_ID, certificatePem: pki.clientCert },
          { clientId: WIF_ID, federated: (assertion) => oidc.issued.some((i) => i.token === assertion) },
        ],
        ...a.entra,
      });
      w.acr = await startAcr(pki, book, a.acr);
      inputs.azureSubscription = ARM;
      inputs.acr = w.acr.host;
      endpoints[ARM] = armEndpoint(auth, w.entra);
      variables['System.OidcRequestUri'] = oidc.requestUri;
    }
    if (a.first !== undefined) inputs.repository = repositoryPutting(a.first, a.addresses ?? []);
    const pathPrepend: string[] = [];
    if (a.mirror !== undefined) {
      const archive = w.mirror.publish('0.32.2', { os: here?.os, arch: here?.arch });
      w.archivePath = archive.urlPath;
      w.mirror.failNext(archive.urlPath, ...(a.mirror.faults ?? []));
      const pin =
        a.mirror.pin === undefined ? '' : a.mirror.pin === 'right' ? archive.sha256 : '0'.repeat(64);
      inputs.buildctlVersion = pin === '' ? '0.32.2' : `0.32.2@sha256:${pin}`;
      inputs.buildkitDownloadUrl = w.mirror.url;
    } else {
      pathPrepend.push(fakeBuildctlDir);
    }
    return {
      entry,
      inputs: { ...inputs, ...a.inputs },
      variables: { ...variables, ...a.variables },
      endpoints,
      env: { HOME: w.home, NODE_EXTRA_CA_CERTS: pki.caFile, ...fakeBuildctlEnv(w.records, a.behaviour) },
      pathPrepend,
      cwd: context,
      timeoutMs: 60_000,
    };
  }

  function secretsOf(w: World): string[] {
    return [...w.held, ...book.all(), ...(w.acr?.issued.map((i) => i.refreshToken) ?? [])];
  }

  for (const c of CASES) {
    const outcome = c.expected.result === 'Succeeded' ? c.expected.note : c.expected.result.toLowerCase();
    it(`${c.what}: ${outcome}`, async function () {
      const w = await newWorld();
      world = w;
      const arranged = await c.arrange(w);
      // The release mirror serves archives for the platforms BuildKit publishes only.
      if (arranged.mirror !== undefined && here === undefined) this.skip();
      const options = await prepare(w, arranged);
      const runs = c.execute ? await c.execute(w, options) : [await startTask(options).done];
      try {
        for (const run of runs) {
          const explain = `${run.result ?? '(no result)'}: ${run.resultMessage ?? ''}\n${run.stdout}\n${run.stderr}`;
          assert.equal(run.result, c.expected.result, explain);
          if (c.expected.result !== 'Succeeded') assert.match(run.resultMessage ?? '', c.expected.message);
          assertNoStackTrace(run);
          assertNoLeaks(run, secretsOf(w), w.home);
        }
        c.check?.(w, runs, arranged);
      } finally {
        for (const run of runs) fs.rmSync(run.tempDirectory, { recursive: true, force: true });
      }
    });
  }
});
