import * as assert from 'node:assert/strict';
import { runBuild } from '../../tasks/BuildKitBuild/src/buildctl/build';
import type { DaemonTls } from '../../tasks/BuildKitBuild/src/core/daemonTls';
import { daemonEnv } from '../../tasks/BuildKitBuild/src/daemon/flags';
import {
  classifyPreflightFailure,
  preflightMessage,
  runPreflight,
  type PreflightOutcome,
} from '../../tasks/BuildKitBuild/src/daemon/preflight';
import type { Buildctl } from '../../tasks/BuildKitBuild/src/tool/install';
import {
  fakeBuildctlDir,
  fakeBuildctlEnv,
  fakeBuildctlPath,
  readInvocations,
  runFakeBuildctl,
} from '../support/fakeBuildctl';
import { makeContext } from '../support/fakeContext';
import {
  startFakeDaemon,
  tempDir,
  writeFakePem,
  type FakeDaemon,
  type FakeDaemonOptions,
} from '../support/fakeDaemon';
import { buildInputsFor, writeBuildContext } from '../support/buildInputs';

const PATH = process.env.PATH ?? '';
const NO_TLS: DaemonTls = { caCert: undefined, cert: undefined, key: undefined, serverName: undefined };

/** What real buildctl prints when grpc-go refuses a daemon without ALPN (grpc-go 1.72+, BuildKit 0.23+). */
const ALPN_ERROR =
  'error: failed to list workers: Unavailable: connection error: desc = "transport: authentication handshake failed: credentials: cannot check peer: missing selected ALPN property. If you upgraded from a grpc-go version earlier than 1.67, your TLS connections may have stopped working due to ALPN enforcement. For more details, see: https://github.com/grpc/grpc-go/issues/434"';

describe('TLS refusals and ALPN, as real buildctl reports them', () => {
  it('classifies the texts of buildctl v0.11 to v0.32', () => {
    const closed =
      'error: failed to list workers: Unavailable: connection closed before server preface received';
    const brokenPipe =
      'error: failed to list workers: Unavailable: write tcp 10.0.0.5:41234->10.0.0.9:1234: write: broken pipe';
    const table: [text: string, withTls: string, withoutTls: string][] = [
      [ALPN_ERROR, 'tls-alpn', 'tls-alpn'],
      [
        'error: failed to list workers: Unavailable: connection error: desc = "transport: authentication handshake failed: credentials: cannot check peer: missing selected ALPN property"',
        'tls-alpn',
        'tls-alpn',
      ],
      [closed, 'tls-client-certificate', 'tls-required'],
      [brokenPipe, 'tls-client-certificate', 'tls-required'],
      [
        'error: failed to list workers: Unavailable: connection error: desc = "error reading server preface: read tcp 10.0.0.5:41234->10.0.0.9:1234: read: connection reset by peer"',
        'tls-client-certificate',
        'tls-required',
      ],
      [
        'error: failed to list workers: Unavailable: connection error: desc = "transport: Error while dialing: dial tcp 10.0.0.9:1234: connect: connection reset by peer"',
        'unreachable',
        'unreachable',
      ],
      [
        'error: failed to list workers: Unavailable: connection error: desc = "error reading server preface: remote error: tls: unknown certificate authority"',
        'tls-client-certificate',
        'tls-client-certificate',
      ],
    ];
    for (const [text, withTls, withoutTls] of table) {
      assert.equal(classifyPreflightFailure(text, true), withTls, text);
      assert.equal(classifyPreflightFailure(text, false), withoutTls, text);
    }
  });

  it('gives buildctl GRPC_ENFORCE_ALPN_ENABLED=false with TLS only, and keeps a value the pipeline set', () => {
    const tls: DaemonTls = { ...NO_TLS, caCert: '/ca.pem', cert: '/c.pem', key: '/k.pem' };
    assert.deepEqual(daemonEnv({ PATH: '/bin' }, tls), { PATH: '/bin', GRPC_ENFORCE_ALPN_ENABLED: 'false' });
    assert.deepEqual(daemonEnv({ PATH: '/bin' }, { ...NO_TLS, caCert: '/ca.pem' }), {
      PATH: '/bin',
      GRPC_ENFORCE_ALPN_ENABLED: 'false',
    });
    assert.deepEqual(daemonEnv({ PATH: '/bin' }, NO_TLS), { PATH: '/bin' });
    assert.deepEqual(daemonEnv({ GRPC_ENFORCE_ALPN_ENABLED: 'true' }, tls), {
      GRPC_ENFORCE_ALPN_ENABLED: 'true',
    });
    assert.deepEqual(daemonEnv({ GRPC_ENFORCE_ALPN_ENABLED: '' }, tls), {
      GRPC_ENFORCE_ALPN_ENABLED: 'false',
    });
  });

  describe('against fake daemons', () => {
    const daemons: FakeDaemon[] = [];
    const pems = tempDir();
    const ca = writeFakePem(pems, 'ca.pem');
    const cert = writeFakePem(pems, 'cert.pem');
    const key = writeFakePem(pems, 'key.pem', 'PRIVATE KEY');
    const strangerCert = writeFakePem(pems, 'stranger.pem');
    const full: DaemonTls = { caCert: ca, cert, key, serverName: undefined };
    afterEach(async () => {
      await Promise.all(daemons.splice(0).map((d) => d.close()));
    });
    const daemon = async (tls: FakeDaemonOptions['tls']): Promise<FakeDaemon> => {
      const started = await startFakeDaemon({ tls });
      daemons.push(started);
      return started;
    };
    const preflight = (
      address: string,
      tls: DaemonTls,
      env: Record<string, string> = {},
    ): Promise<PreflightOutcome> =>
      runPreflight({
        buildctlPath: fakeBuildctlPath,
        address,
        tls,
        env: { PATH, ...env },
        timeoutMs: 20_000,
        signal: new AbortController().signal,
      });
    const kind = (outcome: PreflightOutcome): string => (outcome.ok ? 'ok' : outcome.kind);

    it('the fake refuses a daemon without ALPN like buildctl v0.19+, unless GRPC_ENFORCE_ALPN_ENABLED=false', async () => {
      const old = await daemon({ caFile: ca, alpn: false });
      const args = [
        '--addr',
        old.address,
        '--tlscacert',
        ca,
        '--tlscert',
        cert,
        '--tlskey',
        key,
        'debug',
        'workers',
      ];
      const refused = await runFakeBuildctl(args);
      assert.equal(refused.code, 1);
      assert.equal(refused.stderr, `${ALPN_ERROR}\n`);
      const v20 = await runFakeBuildctl(args, { FAKE_BUILDCTL_VERSION: '0.20.2' });
      assert.match(v20.stderr, /missing selected ALPN property"\n$/, 'no help text before grpc-go 1.72');
      assert.equal((await runFakeBuildctl(args, { FAKE_BUILDCTL_VERSION: '0.18.2' })).code, 0);
      assert.equal((await runFakeBuildctl(args, { GRPC_ENFORCE_ALPN_ENABLED: 'False' })).code, 0);
    });

    it('passes the pre-flight against a daemon older than v0.17 (no ALPN) with buildctl 0.32', async () => {
      const old = await daemon({ caFile: ca, alpn: false });
      assert.equal(kind(await preflight(old.address, full)), 'ok');
    });

    it('names the ALPN problem when the pipeline enforces ALPN, and says what to do', async () => {
      const old = await daemon({ caFile: ca, alpn: false });
      const outcome = await preflight(old.address, full, { GRPC_ENFORCE_ALPN_ENABLED: 'true' });
      assert.equal(kind(outcome), 'tls-alpn');
      assert.ok(!outcome.ok);
      const message = preflightMessage(outcome, old.address, full, 20, makeContext());
      assert.match(message, /negotiated no ALPN protocol/);
      assert.match(
        message,
        /Upgrade buildkitd to v0\.17 or later, or set buildctlVersion to 0\.18\.2 or older\./,
      );
    });

    it('a daemon that refuses the client certificate: none given, or one from another CA', async () => {
      const strict = await daemon({ caFile: ca, clientCertFile: cert });
      const none = await preflight(strict.address, { ...full, cert: undefined, key: undefined });
      assert.equal(kind(none), 'tls-client-certificate');
      assert.ok(!none.ok);
      assert.match(none.detail, /write: broken pipe$/);
      assert.match(
        preflightMessage(
          none,
          strict.address,
          { ...full, cert: undefined, key: undefined },
          20,
          makeContext(),
        ),
        /closed the connection after the TLS handshake \(.*broken pipe\): it requires a client certificate\. Set tlsCert and tlsKey/,
      );
      for (const version of ['0.11.6', '0.32.2']) {
        const stranger = await preflight(
          strict.address,
          { ...full, cert: strangerCert },
          { FAKE_BUILDCTL_VERSION: version },
        );
        assert.equal(kind(stranger), 'tls-client-certificate', version);
        assert.ok(!stranger.ok);
        assert.match(
          preflightMessage(stranger, strict.address, { ...full, cert: strangerCert }, 20, makeContext()),
          /rejected the client certificate/,
        );
      }
      assert.equal(kind(await preflight(strict.address, full)), 'ok');
    });

    it('plain text to a TLS port with buildctl v0.11 (connection closed before server preface)', async () => {
      const tlsOnly = await daemon({ caFile: ca });
      const outcome = await preflight(tlsOnly.address, NO_TLS, { FAKE_BUILDCTL_VERSION: '0.11.6' });
      assert.equal(kind(outcome), 'tls-required');
      assert.ok(!outcome.ok);
      assert.equal(
        outcome.detail,
        'failed to list workers: Unavailable: connection closed before server preface received',
      );
    });

    it('builds on a daemon without ALPN: buildctl build gets GRPC_ENFORCE_ALPN_ENABLED=false too', async () => {
      const old = await daemon({ caFile: ca, alpn: false });
      const dir = tempDir();
      const records = tempDir();
      writeBuildContext(dir);
      const buildctl: Buildctl = { path: fakeBuildctlPath, version: '0.32.2', binDir: fakeBuildctlDir };
      const ctx = makeContext({
        env: { PATH, ...fakeBuildctlEnv(records) },
        variables: { 'Agent.TempDirectory': dir },
      });
      await runBuild(
        buildInputsFor(dir, { tlsCaCert: ca, tlsCert: cert, tlsKey: key }),
        {
          buildctl,
          daemon: { address: old.address, tls: full, dispose: () => Promise.resolve() },
          dockerConfigDir: undefined,
        },
        ctx,
        new AbortController().signal,
        { now: () => 1000, killGraceMs: 3000, outputFull: () => undefined },
      );
      const [invocation] = readInvocations(records);
      assert.equal(invocation?.exitCode, 0);
      assert.equal(invocation.env.GRPC_ENFORCE_ALPN_ENABLED, 'false');
    });
  });
});
