import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { isValidTag } from '../../tasks/BuildKitBuild/src/buildInputs/reference';
import {
  branchCacheRefs,
  planScopes,
  readBranchFacts,
  scopedTag,
  type BranchFacts,
  type CacheBase,
} from '../../tasks/BuildKitBuild/src/buildInputs/branchCache';

const NAME = 'myacr.azurecr.io/team/app';
const BASE: CacheBase = { name: NAME, tag: 'buildcache' };
const ref = (tag: string): string => `${NAME}:${tag}`;
const hash12 = (text: string): string => createHash('sha256').update(text).digest('hex').slice(0, 12);

function facts(variables: Record<string, string>): BranchFacts {
  return readBranchFacts((name) => variables[name]);
}

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

  it('a pull request whose source branch is named like its target never writes the target’s cache', () => {
    // A fork's release branch proposed into release, where the service gives no IsFork (older servers,
    // other repository types): the merge is unreviewed code and must not become release's cache.
    const refs = branchCacheRefs(
      BASE,
      planScopes(
        facts({
          'Build.SourceBranch': 'refs/pull/31/merge',
          'Build.Reason': 'PullRequest',
          'System.PullRequest.SourceBranch': 'refs/heads/release-2',
          'System.PullRequest.TargetBranch': 'refs/heads/release-2',
          'System.PullRequest.PullRequestId': '31',
        }),
      ),
    );
    assert.deepEqual(refs, {
      imports: [ref('buildcache-_pr31'), ref('buildcache-release-2'), ref('buildcache')],
      export: ref('buildcache-_pr31'),
    });
  });

  it('the target branch is read from System.PullRequest.TargetBranch (the full name) when both are given', () => {
    // TargetBranchName is the newer short form; only TargetBranch is documented to hold the whole ref, so
    // a target such as release/2.0 is never read as some other branch "2.0".
    const refs = branchCacheRefs(
      BASE,
      planScopes(
        facts({
          'Build.SourceBranch': 'refs/pull/9/merge',
          'Build.Reason': 'PullRequest',
          'System.PullRequest.SourceBranch': 'refs/heads/fix',
          'System.PullRequest.TargetBranch': 'refs/heads/release/2.0',
          'System.PullRequest.TargetBranchName': '2.0',
          'System.PullRequest.PullRequestId': '9',
        }),
      ),
    );
    assert.deepEqual(refs.imports, [
      ref('buildcache-fix'),
      ref(`buildcache-release-2.0_${hash12('release/2.0')}`),
      ref('buildcache'),
    ]);
  });

  it('Build.Reason does not decide the scope outside pull requests: Manual, Schedule, ResourceTrigger, TFVC', () => {
    for (const reason of [
      'Manual',
      'IndividualCI',
      'BatchedCI',
      'Schedule',
      'ResourceTrigger',
      'BuildCompletion',
    ]) {
      const main = branchCacheRefs(
        BASE,
        planScopes(facts({ 'Build.SourceBranch': 'refs/heads/main', 'Build.Reason': reason })),
      );
      assert.deepEqual(main, { imports: [ref('buildcache')], export: ref('buildcache') }, reason);
      const feature = branchCacheRefs(
        BASE,
        planScopes(facts({ 'Build.SourceBranch': 'refs/heads/feature-x', 'Build.Reason': reason })),
      );
      assert.deepEqual(
        feature,
        { imports: [ref('buildcache-feature-x'), ref('buildcache')], export: ref('buildcache-feature-x') },
        reason,
      );
    }
    // TFVC: Build.SourceBranch is a server path; it is a branch like any other, hashed (it has `$` and `/`).
    const tfvc = branchCacheRefs(
      BASE,
      planScopes(facts({ 'Build.SourceBranch': '$/Fabrikam/Main', 'Build.Reason': 'IndividualCI' })),
    );
    assert.deepEqual(tfvc, {
      imports: [ref(`buildcache-fabrikam-main_${hash12('$/Fabrikam/Main')}`), ref('buildcache')],
      export: ref(`buildcache-fabrikam-main_${hash12('$/Fabrikam/Main')}`),
    });
  });

  it('no two (scope, platform) pairs share a tag: case, / and -, trailing dots, platform and pr look-alikes', () => {
    const branches = [
      'main',
      'Main',
      'MAIN',
      'refs/heads/main',
      'feature',
      'feature.',
      'feature-',
      'Feature',
      'feature/x',
      'feature-x',
      'feature_x',
      'feature.x',
      'linux-arm64',
      'feature-linux-arm64',
      'windows-amd64',
      'wasi-wasm',
      'feature-wasi-wasm',
      '_pr17',
      'pr17',
      '-pr17',
      '_tags',
      'tags',
      'x'.repeat(200),
      `${'x'.repeat(199)}.`,
      `${'x'.repeat(199)}y`,
    ];
    const scopes = [
      ...branches.map((branch) => ({ kind: 'branch', branch }) as const),
      { kind: 'default' } as const,
      { kind: 'tags' } as const,
      { kind: 'pullRequest', number: '17' } as const,
      { kind: 'pullRequest', number: 'unknown' } as const,
    ];
    const seen = new Map<string, string>();
    for (const platform of [
      undefined,
      'linux/amd64',
      'linux/arm64',
      'linux/arm/v7',
      'windows/amd64',
      'wasi/wasm',
    ]) {
      for (const scope of scopes) {
        const tag = scopedTag('buildcache', scope, platform);
        assert.ok(isValidTag(tag), tag);
        const key = `${JSON.stringify(scope)} ${platform ?? ''}`;
        assert.equal(seen.get(tag), undefined, `${key} and ${seen.get(tag) ?? ''} share ${tag}`);
        seen.set(tag, key);
      }
    }
  });
});
