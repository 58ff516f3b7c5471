import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { MergeError, mergeIndex, type PushedPlatform } from '../../tasks/BuildKitBuild/src/oci/merge';

const sha = (seed: string): string => `sha256:${createHash('sha256').update(seed).digest('hex')}`;
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

/** An image manifest pushed alone by the build of `platform`, whose config says `os/arch[/variant]`. */
function image(platform: string, configSays: string): PushedPlatform {
  const [os = '', architecture = '', variant] = configSays.split('/');
  const configDigest = sha(`config ${platform}`);
  return {
    platform,
    descriptor: { mediaType: OCI_MANIFEST, digest: sha(`image ${platform}`), size: 1054 },
    manifest: { schemaVersion: 2, mediaType: OCI_MANIFEST, config: { digest: configDigest }, layers: [] },
    configPlatforms: new Map([
      [configDigest, variant === undefined ? { architecture, os } : { architecture, os, variant }],
    ]),
  };
}

describe('mergeIndex under attack: two images for one platform', () => {
  it('refuses two different images that claim one platform, naming both builds', () => {
    // A daemon that ignored --opt platform= (or a line that declares a platform its daemon does not build):
    // the "arm64" build pushed an amd64 image, and the index would hold two amd64 entries and no arm64.
    assert.throws(
      () => mergeIndex([image('linux/amd64', 'linux/amd64'), image('linux/arm64', 'linux/amd64')]),
      (error: unknown) =>
        error instanceof MergeError &&
        error.platform === 'linux/arm64' &&
        error.message.includes('linux/amd64') &&
        /same platform/.test(error.message),
    );
  });

  it('different variants of one architecture are different platforms', () => {
    const merged = mergeIndex([image('linux/arm/v7', 'linux/arm/v7'), image('linux/arm/v6', 'linux/arm/v6')]);
    assert.deepEqual(
      merged.manifests.map((m) => m.platform),
      [
        { architecture: 'arm', os: 'linux', variant: 'v7' },
        { architecture: 'arm', os: 'linux', variant: 'v6' },
      ],
    );
  });
});
