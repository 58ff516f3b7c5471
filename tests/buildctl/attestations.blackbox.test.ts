import * as assert from 'node:assert/strict';
import { runTask, type TaskRun } from '../support/agent';
import {
  commandOf,
  fakeBuildctlDir,
  fakeBuildctlEnv,
  flagValue,
  readInvocations,
  type FakeBuildctlBehaviour,
} from '../support/fakeBuildctl';
import { startFakeDaemon, tempDir, type FakeDaemon } from '../support/fakeDaemon';
import { bundledTaskEntry } from '../support/repo';
import { writeBuildContext } from '../support/buildInputs';
import { dockerRegistryConnection } from '../support/connections';
import { attestationFields, attestationRefusal } from '../../tasks/BuildKitBuild/src/buildctl/attestations';

const NO_ATTESTATIONS = { provenance: 'none', sbom: false } as const;
const REFUSED =
  'failed to push r.example/team/app:7: unexpected status from PUT request to https://r.example/v2/team/app/manifests/sha256:' +
  `${'a'.repeat(64)}: 400 Bad Request`;

describe('attestation manifests (pure)', () => {
  it('say their form only when attestations are attached, image form unless asked otherwise', () => {
    assert.deepEqual(attestationFields(NO_ATTESTATIONS), []);
    assert.deepEqual(attestationFields({ provenance: 'min', sbom: false }), ['oci-artifact=false']);
    assert.deepEqual(attestationFields({ provenance: 'none', sbom: true, attestationManifest: 'image' }), [
      'oci-artifact=false',
    ]);
    assert.deepEqual(
      attestationFields({ provenance: 'max', sbom: true, attestationManifest: 'oci-artifact' }),
      ['oci-artifact=true'],
    );
  });

  it('a manifest refused by digest with attestations on is an attestation refusal; auth and other failures are not', () => {
    const artifact = { provenance: 'max', sbom: false, attestationManifest: 'oci-artifact' } as const;
    const image = { provenance: 'none', sbom: true, attestationManifest: 'image' } as const;
    assert.equal(attestationRefusal(REFUSED, artifact), 'artifact');
    assert.equal(attestationRefusal(REFUSED, image), 'image');
    assert.equal(attestationRefusal(REFUSED, NO_ATTESTATIONS), undefined);
    for (const status of [
      '401 Unauthorized',
      '403 Forbidden',
      '404 Not Found',
      '429 Too Many Requests',
      '503 Service Unavailable',
    ]) {
      assert.equal(
        attestationRefusal(REFUSED.replace('400 Bad Request', status), artifact),
        undefined,
        status,
      );
    }
    // By tag: the index (or a single image), not an attestation manifest.
    assert.equal(
      attestationRefusal(
        'unexpected status from PUT request to https://r.example/v2/team/app/manifests/7: 400 Bad Request',
        artifact,
      ),
      undefined,
    );
  });
});

describe('attestation manifests, black-box', function () {
  this.timeout(60_000);
  let daemon: FakeDaemon;
  let dir: string;
  let records: string;
  before(async () => {
    daemon = await startFakeDaemon();
  });
  after(async () => {
    await daemon.close();
  });
  beforeEach(() => {
    dir = tempDir();
    records = tempDir();
    writeBuildContext(dir);
  });

  async function run(inputs: Record<string, string>, behaviour: FakeBuildctlBehaviour): Promise<TaskRun> {
    return runTask({
      entry: await bundledTaskEntry(),
      cwd: dir,
      pathPrepend: [fakeBuildctlDir],
      inputs: {
        containerRegistry: 'reg',
        repository: 'team/app',
        tags: '7',
        buildkitAddress: daemon.address,
        ...inputs,
      },
      endpoints: { reg: dockerRegistryConnection('https://r.example', 'builder', 'pa55-w0rd') },
      env: fakeBuildctlEnv(records, behaviour),
    });
  }

  const outputOf = () => {
    const [build] = readInvocations(records).filter((i) => commandOf(i) === 'build');
    return flagValue(build?.argv ?? [], '--output');
  };

  it('provenance and sbom reach a registry that refuses OCI artifacts with BuildKit 0.32 (image form by default)', async () => {
    const result = await run(
      { provenance: 'max', sbom: 'true' },
      { refuseOciArtifact: true, version: '0.32.2' },
    );
    assert.equal(result.result, 'Succeeded', result.resultMessage);
    assert.equal(outputOf(), 'type=image,name=r.example/team/app:7,push=true,oci-artifact=false');
  });

  it('a registry that refuses the OCI artifact form fails naming attestationManifest and its value', async () => {
    const result = await run(
      { provenance: 'min', attestationManifest: 'oci-artifact' },
      { refuseOciArtifact: true, version: '0.32.2' },
    );
    assert.equal(result.result, 'Failed');
    assert.equal(outputOf(), 'type=image,name=r.example/team/app:7,push=true,oci-artifact=true');
    assert.match(result.resultMessage ?? '', /manifests\/sha256:[0-9a-f]{64}: 400 Bad Request/);
    assert.match(
      result.resultMessage ?? '',
      /The registry refused a manifest of the attestations in the OCI artifact form \(attestationManifest: oci-artifact, BuildKit's oci-artifact=true\): set attestationManifest to image \(oci-artifact=false\)/,
    );
  });

  it('without attestations nothing about their form is passed or said', async () => {
    const result = await run({}, { refuseOciArtifact: true });
    assert.equal(result.result, 'Succeeded', result.resultMessage);
    assert.equal(outputOf(), 'type=image,name=r.example/team/app:7,push=true');
  });

  it('a bad attestationManifest value is an input problem naming the input', async () => {
    const result = await run({ provenance: 'min', attestationManifest: 'artifact' }, {});
    assert.equal(result.result, 'Failed');
    assert.match(result.resultMessage ?? '', /attestationManifest: /);
    assert.deepEqual(
      readInvocations(records).filter((i) => commandOf(i) === 'build'),
      [],
    );
  });
});
