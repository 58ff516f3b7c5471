import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  configPlatform,
  MergeError,
  mergeIndex,
  parsePlatform,
  type OciPlatform,
  type PushedPlatform,
} from '../../tasks/BuildKitBuild/src/oci/merge';

const sha = (seed: string): string => `sha256:${createHash('sha256').update(seed).digest('hex')}`;
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';

/** An image manifest pushed alone (no attestations), whose config says `config`. */
function plainImage(
  platform: string,
  config: OciPlatform | undefined,
  mediaType = OCI_MANIFEST,
): PushedPlatform {
  const configDigest = sha(`config ${platform}`);
  return {
    platform,
    descriptor: { mediaType, digest: sha(`image ${platform}`), size: 1054 },
    manifest: { schemaVersion: 2, mediaType, config: { digest: configDigest }, layers: [] },
    configPlatforms: new Map(config === undefined ? [] : [[configDigest, config]]),
  };
}

/** An index as BuildKit pushes one platform with provenance: the image, then its attestation manifest. */
function withAttestation(platform: string, entryPlatform: OciPlatform | undefined): PushedPlatform {
  const image = sha(`image ${platform}`);
  return {
    platform,
    descriptor: { mediaType: OCI_INDEX, digest: sha(`index ${platform}`), size: 856 },
    manifest: {
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [
        {
          mediaType: OCI_MANIFEST,
          digest: image,
          size: 1054,
          ...(entryPlatform === undefined ? {} : { platform: entryPlatform }),
        },
        {
          mediaType: OCI_MANIFEST,
          digest: sha(`attestation ${platform}`),
          size: 566,
          annotations: {
            'vnd.docker.reference.digest': image,
            'vnd.docker.reference.type': 'attestation-manifest',
          },
          platform: { architecture: 'unknown', os: 'unknown' },
        },
      ],
    },
    configPlatforms: new Map(),
  };
}

const indexJson = (manifests: unknown[]): string =>
  JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests }, null, 2);

describe('mergeIndex: per-platform pushes → the exact OCI index', () => {
  const rows: { name: string; pushed: PushedPlatform[]; json: string }[] = [
    {
      name: 'two image manifests: platforms from their config blobs (variant kept)',
      pushed: [
        plainImage('linux/amd64', { architecture: 'amd64', os: 'linux' }),
        plainImage('linux/arm64', { architecture: 'arm64', os: 'linux', variant: 'v8' }),
      ],
      json: `{
  "schemaVersion": 2,
  "mediaType": "application/vnd.oci.image.index.v1+json",
  "manifests": [
    {
      "mediaType": "application/vnd.oci.image.manifest.v1+json",
      "digest": "${sha('image linux/amd64')}",
      "size": 1054,
      "platform": {
        "architecture": "amd64",
        "os": "linux"
      }
    },
    {
      "mediaType": "application/vnd.oci.image.manifest.v1+json",
      "digest": "${sha('image linux/arm64')}",
      "size": 1054,
      "platform": {
        "architecture": "arm64",
        "os": "linux",
        "variant": "v8"
      }
    }
  ]
}`,
    },
    {
      name: 'a config without platform: the requested platform; Docker media types kept',
      pushed: [plainImage('linux/arm/v7', undefined, DOCKER_MANIFEST), plainImage('linux/amd64', undefined)],
      json: indexJson([
        {
          mediaType: DOCKER_MANIFEST,
          digest: sha('image linux/arm/v7'),
          size: 1054,
          platform: { architecture: 'arm', os: 'linux', variant: 'v7' },
        },
        {
          mediaType: OCI_MANIFEST,
          digest: sha('image linux/amd64'),
          size: 1054,
          platform: { architecture: 'amd64', os: 'linux' },
        },
      ]),
    },
    {
      name: 'indexes with attestations: images first, then attestation manifests with their annotations',
      pushed: [
        withAttestation('linux/amd64', { architecture: 'amd64', os: 'linux' }),
        withAttestation('linux/arm64', undefined),
      ],
      json: indexJson([
        {
          mediaType: OCI_MANIFEST,
          digest: sha('image linux/amd64'),
          size: 1054,
          platform: { architecture: 'amd64', os: 'linux' },
        },
        {
          mediaType: OCI_MANIFEST,
          digest: sha('image linux/arm64'),
          size: 1054,
          platform: { architecture: 'arm64', os: 'linux' },
        },
        {
          mediaType: OCI_MANIFEST,
          digest: sha('attestation linux/amd64'),
          size: 566,
          annotations: {
            'vnd.docker.reference.digest': sha('image linux/amd64'),
            'vnd.docker.reference.type': 'attestation-manifest',
          },
          platform: { architecture: 'unknown', os: 'unknown' },
        },
        {
          mediaType: OCI_MANIFEST,
          digest: sha('attestation linux/arm64'),
          size: 566,
          annotations: {
            'vnd.docker.reference.digest': sha('image linux/arm64'),
            'vnd.docker.reference.type': 'attestation-manifest',
          },
          platform: { architecture: 'unknown', os: 'unknown' },
        },
      ]),
    },
    {
      name: 'the same manifest pushed twice is listed once',
      pushed: [plainImage('linux/amd64', undefined), plainImage('linux/amd64', undefined)],
      json: indexJson([
        {
          mediaType: OCI_MANIFEST,
          digest: sha('image linux/amd64'),
          size: 1054,
          platform: { architecture: 'amd64', os: 'linux' },
        },
      ]),
    },
  ];
  for (const row of rows) {
    it(row.name, () => {
      const merged = mergeIndex(row.pushed);
      assert.equal(merged.json, row.json);
      assert.equal(merged.digest, `sha256:${createHash('sha256').update(row.json).digest('hex')}`);
      assert.equal(merged.size, Buffer.byteLength(row.json));
    });
  }

  const broken: { name: string; pushed: PushedPlatform; reason: RegExp }[] = [
    {
      name: 'a config blob pushed as the root',
      pushed: {
        ...plainImage('linux/amd64', undefined),
        descriptor: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha('x'), size: 2 },
      },
      reason: /is a application\/vnd\.oci\.image\.config\.v1\+json, not an image manifest or index/,
    },
    {
      name: 'an index without manifests',
      pushed: { ...withAttestation('linux/amd64', undefined), manifest: { schemaVersion: 2 } },
      reason: /lists no manifests/,
    },
    {
      name: 'an entry without a digest',
      pushed: {
        ...withAttestation('linux/amd64', undefined),
        manifest: { manifests: [{ mediaType: OCI_MANIFEST, size: 3 }] },
      },
      reason: /no media type or sha256 digest/,
    },
    {
      name: 'only attestations',
      pushed: {
        ...withAttestation('linux/amd64', undefined),
        manifest: {
          manifests: [
            {
              mediaType: OCI_MANIFEST,
              digest: sha('a'),
              size: 3,
              annotations: { 'vnd.docker.reference.type': 'attestation-manifest' },
            },
          ],
        },
      },
      reason: /holds no image manifest/,
    },
  ];
  for (const row of broken) {
    it(`refuses ${row.name}, naming the platform`, () => {
      assert.throws(
        () => mergeIndex([plainImage('linux/arm64', undefined), row.pushed]),
        (error: unknown) =>
          error instanceof MergeError && error.platform === 'linux/amd64' && row.reason.test(error.reason),
      );
    });
  }

  it('parsePlatform and configPlatform', () => {
    assert.deepEqual(parsePlatform('linux/arm/v7'), { architecture: 'arm', os: 'linux', variant: 'v7' });
    assert.deepEqual(parsePlatform('windows/amd64'), { architecture: 'amd64', os: 'windows' });
    assert.deepEqual(configPlatform({ architecture: 'arm64', os: 'linux', variant: 'v8', rootfs: {} }), {
      architecture: 'arm64',
      os: 'linux',
      variant: 'v8',
    });
    assert.equal(configPlatform({ os: 'linux' }), undefined);
  });
});
