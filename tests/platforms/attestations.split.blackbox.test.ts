import * as assert from 'node:assert/strict';
import { runTask } from '../support/agent';
import { dockerRegistryConnection } from '../support/connections';
import { commandOf, fakeBuildctlDir, fakeBuildctlEnv, readInvocations } from '../support/fakeBuildctl';
import { startFakeDaemon, tempDir, type FakeDaemon } from '../support/fakeDaemon';
import { bundledTaskEntry } from '../support/repo';
import { createTestPki, type TestPki } from '../support/servers/pki';
import { startRegistry, type FakeRegistry } from '../support/servers/registry';
import { writeBuildContext } from '../support/buildInputs';

/** A split build (one buildctl per platform) whose registry refuses attestation manifests as OCI artifacts. */
describe('attestation manifests in a split multi-platform build, black-box', function () {
  this.timeout(90_000);
  let pki: TestPki;
  let registry: FakeRegistry;
  const daemons: FakeDaemon[] = [];

  before(() => {
    pki = createTestPki();
  });
  after(() => {
    pki.remove();
  });
  afterEach(async () => {
    await Promise.all(daemons.splice(0).map((d) => d.close()));
    await registry.close();
  });

  it('a registry refusing the OCI artifact form fails the platform naming attestationManifest, as a single build does', async () => {
    const dir = tempDir();
    const records = tempDir();
    const store = tempDir('bkb-registry-store-');
    writeBuildContext(dir);
    registry = await startRegistry(pki, {
      storeDir: store,
      users: { 'builder:pa55-w0rd': { 'team/app': ['pull', 'push'] } },
    });
    const amd = await startFakeDaemon({ workers: [{ id: 'amd', platforms: ['linux/amd64'] }] });
    const arm = await startFakeDaemon({ workers: [{ id: 'arm', platforms: ['linux/arm64'] }] });
    daemons.push(amd, arm);
    const task = await runTask({
      entry: await bundledTaskEntry(),
      cwd: dir,
      pathPrepend: [fakeBuildctlDir],
      inputs: {
        containerRegistry: 'reg',
        repository: 'team/app',
        tags: '7',
        platforms: 'linux/amd64,linux/arm64',
        buildkitAddress: `${amd.address}\n${arm.address}`,
        provenance: 'min',
        attestationManifest: 'oci-artifact',
      },
      endpoints: { reg: dockerRegistryConnection(registry.origin, 'builder', 'pa55-w0rd') },
      env: {
        NODE_EXTRA_CA_CERTS: pki.caFile,
        FAKE_BUILDCTL_REGISTRY_DIR: store,
        ...fakeBuildctlEnv(records, { refuseOciArtifact: true, version: '0.32.2' }),
      },
      timeoutMs: 80_000,
    });
    assert.equal(task.result, 'Failed');
    const builds = readInvocations(records).filter((i) => commandOf(i) === 'build');
    assert.ok(builds.length >= 1 && builds.length <= 2, `${builds.length} builds`);
    assert.match(task.resultMessage ?? '', /\/team\/app\/manifests\/sha256:[0-9a-f]{64}: 400 Bad Request/);
    assert.match(
      task.resultMessage ?? '',
      /The registry refused a manifest of the attestations in the OCI artifact form \(attestationManifest: oci-artifact, BuildKit's oci-artifact=true\): set attestationManifest to image/,
    );
    assert.deepEqual(registry.tags(), {}, 'nothing tagged');
  });
});
