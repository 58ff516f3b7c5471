import * as assert from 'node:assert/strict';
import { scopedTag } from '../../tasks/BuildKitBuild/src/buildInputs/branchCache';

describe('branch-scoped cache refs: attacks', () => {
  it('a branch named like a platform of an OS missing from Go’s short list never meets a per-platform ref', () => {
    // BuildKit (containerd's platform parser) accepts any OS word; Docker's Wasm platform is wasi/wasm, and
    // Go also knows hurd, nacl and zos. The default branch's per-platform ref of wasi/wasm is
    // buildcache-wasi-wasm: the branch wasi-wasm must not write it.
    for (const [branch, platform] of [
      ['wasi-wasm', 'wasi/wasm'],
      ['zos-s390x', 'zos/s390x'],
      ['hurd-amd64', 'hurd/amd64'],
      ['nacl-amd64p32', 'nacl/amd64p32'],
    ] as const) {
      const branchTag = scopedTag('buildcache', { kind: 'branch', branch });
      const defaultPlatformTag = scopedTag('buildcache', { kind: 'default' }, platform);
      assert.notEqual(branchTag, defaultPlatformTag, `${branch} shares ${branchTag} with ${platform}`);
      const longer = scopedTag('buildcache', { kind: 'branch', branch: `feature-${branch}` });
      const featurePlatform = scopedTag('buildcache', { kind: 'branch', branch: 'feature' }, platform);
      assert.notEqual(
        longer,
        featurePlatform,
        `feature-${branch} shares ${longer} with feature + ${platform}`,
      );
    }
  });
});
