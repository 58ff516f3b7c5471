import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runTask, type TaskRunOptions } from '../support/agent';
import { dockerRegistryConnection } from '../support/connections';
import {
  commandOf,
  fakeBuildctlDir,
  fakeBuildctlEnv,
  flagValue,
  readInvocations,
  type FakeBuildctlBehaviour,
} from '../support/fakeBuildctl';
import { startFakeDaemon, tempDir, writeFakePem, type FakeDaemon } from '../support/fakeDaemon';
import { bundledTaskEntry } from '../support/repo';
import { writeBuildContext } from '../support/buildInputs';

/** The bundled task as the agent runs it, the fake buildctl first on PATH, a Docker Registry connection. */
async function taskOptions(
  dir: string,
  records: string,
  inputs: Record<string, string>,
  behaviour: FakeBuildctlBehaviour = {},
): Promise<TaskRunOptions> {
  return {
    entry: await bundledTaskEntry(),
    cwd: dir,
    pathPrepend: [fakeBuildctlDir],
    inputs: { containerRegistry: 'reg', repository: 'team/app', tags: '7', ...inputs },
    endpoints: { reg: dockerRegistryConnection('https://r.example', 'builder', 'pa55-w0rd') },
    variables: { 'System.DefaultWorkingDirectory': dir },
    env: fakeBuildctlEnv(records, behaviour),
  };
}

describe('the bundled task and real BuildKit behaviour (black box)', function () {
  this.timeout(60_000);
  const daemons: FakeDaemon[] = [];
  let dir: string;
  let records: string;
  beforeEach(() => {
    dir = tempDir();
    records = tempDir();
    writeBuildContext(dir);
  });
  afterEach(async () => {
    await Promise.all(daemons.splice(0).map((d) => d.close()));
  });
  const daemon = async (options: Parameters<typeof startFakeDaemon>[0] = {}): Promise<FakeDaemon> => {
    const started = await startFakeDaemon(options);
    daemons.push(started);
    return started;
  };

  it('builds over TLS on a buildkitd older than v0.17 (no ALPN) with buildctl 0.32', async () => {
    const ca = writeFakePem(dir, 'ca.pem');
    const old = await daemon({ tls: { caFile: ca, alpn: false } });
    const run = await runTask(
      await taskOptions(dir, records, {
        buildkitAddress: old.address,
        tlsCaCert: ca,
        tlsCert: writeFakePem(dir, 'cert.pem'),
        tlsKey: writeFakePem(dir, 'key.pem', 'PRIVATE KEY'),
      }),
    );
    assert.equal(run.result, 'Succeeded', run.resultMessage);
    const invocations = readInvocations(records).filter((i) => commandOf(i) !== '--version');
    assert.deepEqual(
      invocations.map((i) => [commandOf(i), i.env.GRPC_ENFORCE_ALPN_ENABLED]),
      [
        ['debug workers', 'false'],
        ['build', 'false'],
      ],
    );
  });

  it('names a missing client certificate as such, not as an unknown failure', async () => {
    const ca = writeFakePem(dir, 'ca.pem');
    const strict = await daemon({ tls: { caFile: ca } });
    const run = await runTask(
      await taskOptions(dir, records, { buildkitAddress: strict.address, tlsCaCert: ca }),
    );
    assert.equal(run.result, 'Failed');
    assert.match(
      run.resultMessage ?? '',
      /^buildkitd at tcp:\S+ closed the connection after the TLS handshake \(.*write: broken pipe\): it requires a client certificate\./,
    );
  });

  it('builds from a local OCI layout named in buildContexts', async () => {
    const layout = path.join(dir, 'base-layout');
    const manifest = '{"schemaVersion":2}';
    const digest = `sha256:${createHash('sha256').update(manifest).digest('hex')}`;
    fs.mkdirSync(path.join(layout, 'blobs', 'sha256'), { recursive: true });
    fs.writeFileSync(path.join(layout, 'blobs', 'sha256', digest.slice(7)), manifest);
    fs.writeFileSync(
      path.join(layout, 'index.json'),
      JSON.stringify({
        schemaVersion: 2,
        manifests: [{ digest, annotations: { 'org.opencontainers.image.ref.name': '1.2' } }],
      }),
    );
    const d = await daemon();
    const run = await runTask(
      await taskOptions(dir, records, {
        buildkitAddress: d.address,
        buildContexts: 'base=oci-layout://base-layout:1.2',
      }),
    );
    assert.equal(run.result, 'Succeeded', run.resultMessage);
    const [build] = readInvocations(records).filter((i) => commandOf(i) === 'build');
    assert.equal(flagValue(build?.argv ?? [], '--oci-layout'), `base=${layout}`);
    assert.ok(build?.argv.includes(`context:base=oci-layout://base@${digest}`));
  });

  it('warns when the cache export of buildctl 0.11 ("exporting content cache") fails', async () => {
    const d = await daemon();
    const run = await runTask(
      await taskOptions(
        dir,
        records,
        { buildkitAddress: d.address },
        { version: '0.11.6', cacheExportFail: true },
      ),
    );
    assert.equal(run.result, 'Succeeded', run.resultMessage);
    assert.match(run.stdout, /^#\d+ exporting content cache$/m);
    assert.match(
      run.stdout,
      /##vso\[task\.issue type=warning;?[^\]]*\]The build succeeded but exporting the build cache failed: failed to push/,
    );
  });
});
