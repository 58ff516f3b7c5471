import * as assert from 'node:assert/strict';
import {
  releaseArchiveUrl,
  releasePlatform,
  supportedReleasePlatforms,
} from '../../tasks/BuildKitBuild/src/tool/platform';

describe('tool: platform mapping', () => {
  const table: [NodeJS.Platform, string, string | undefined][] = [
    ['linux', 'x64', 'linux-amd64 buildctl'],
    ['linux', 'arm64', 'linux-arm64 buildctl'],
    ['linux', 'arm', 'linux-arm-v7 buildctl'],
    ['linux', 's390x', 'linux-s390x buildctl'],
    ['linux', 'ppc64', 'linux-ppc64le buildctl'],
    ['linux', 'riscv64', 'linux-riscv64 buildctl'],
    ['darwin', 'x64', 'darwin-amd64 buildctl'],
    ['darwin', 'arm64', 'darwin-arm64 buildctl'],
    ['win32', 'x64', 'windows-amd64 buildctl.exe'],
    ['win32', 'arm64', 'windows-arm64 buildctl.exe'],
    ['linux', 'ia32', undefined],
    ['linux', 'mips', undefined],
    ['darwin', 'arm', undefined],
    ['win32', 'ia32', undefined],
    ['freebsd', 'x64', undefined],
    ['aix', 'ppc64', undefined],
  ];
  for (const [platform, arch, expected] of table) {
    it(`${platform}/${arch} → ${expected ?? 'unsupported'}`, () => {
      const release = releasePlatform(platform, arch);
      assert.equal(release && `${release.os}-${release.arch} ${release.buildctl}`, expected);
    });
  }

  it('lists the supported platforms for error messages', () => {
    assert.deepEqual(supportedReleasePlatforms(), [
      'linux/amd64',
      'linux/arm64',
      'linux/arm-v7',
      'linux/s390x',
      'linux/ppc64le',
      'linux/riscv64',
      'darwin/amd64',
      'darwin/arm64',
      'windows/amd64',
      'windows/arm64',
    ]);
  });

  it('builds upstream archive URLs under any base URL', () => {
    const linuxArm = releasePlatform('linux', 'arm');
    const windows = releasePlatform('win32', 'arm64');
    assert.ok(linuxArm && windows);
    assert.equal(
      releaseArchiveUrl('https://github.com/moby/buildkit/releases/download', '0.32.2', linuxArm),
      'https://github.com/moby/buildkit/releases/download/v0.32.2/buildkit-v0.32.2.linux-arm-v7.tar.gz',
    );
    assert.equal(
      releaseArchiveUrl('http://127.0.0.1:8080/mirror//', '0.33.0-rc1', windows),
      'http://127.0.0.1:8080/mirror/v0.33.0-rc1/buildkit-v0.33.0-rc1.windows-arm64.tar.gz',
    );
  });
});
