import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  branchCacheRefs,
  planScopes,
  readBranchFacts,
  scopedTag,
  type BranchFacts,
  type CacheBase,
} from '../../tasks/BuildKitBuild/src/buildInputs/branchCache';
import { isValidTag } from '../../tasks/BuildKitBuild/src/buildInputs/reference';

const NAME = 'myacr.azurecr.io/team/app';
const BASE: CacheBase = { name: NAME, tag: 'buildcache' };
const ref = (tag: string): string => `${NAME}:${tag}`;
const hash12 = (text: string): string => createHash('sha256').update(text).digest('hex').slice(0, 12);

/** The variables as the agent sets them, by name. */
function facts(variables: Record<string, string>): BranchFacts {
  return readBranchFacts((name) => variables[name]);
}

interface Row {
  readonly what: string;
  readonly variables: Record<string, string>;
  readonly imports: readonly string[];
  readonly export: string;
}

const longBranch = `feature/${'x'.repeat(192)}`;
const ROWS: readonly Row[] = [
  {
    what: 'CI build of the default branch (Azure Repos, main)',
    variables: { 'Build.SourceBranch': 'refs/heads/main', 'Build.Reason': 'IndividualCI' },
    imports: [ref('buildcache')],
    export: ref('buildcache'),
  },
  {
    what: 'CI build of master, the default branch when none is configured',
    variables: { 'Build.SourceBranch': 'refs/heads/master', 'Build.Reason': 'BatchedCI' },
    imports: [ref('buildcache')],
    export: ref('buildcache'),
  },
  {
    what: 'CI build of a feature branch',
    variables: { 'Build.SourceBranch': 'refs/heads/feature-login', 'Build.Reason': 'IndividualCI' },
    imports: [ref('buildcache-feature-login'), ref('buildcache')],
    export: ref('buildcache-feature-login'),
  },
  {
    what: 'a branch name with slashes is hashed (feature/login and feature-login never share a ref)',
    variables: { 'Build.SourceBranch': 'refs/heads/feature/login' },
    imports: [ref(`buildcache-feature-login_${hash12('feature/login')}`), ref('buildcache')],
    export: ref(`buildcache-feature-login_${hash12('feature/login')}`),
  },
  {
    what: 'uppercase is folded and hashed (Feature-Login and feature-login never share a ref)',
    variables: { 'Build.SourceBranch': 'refs/heads/Feature-Login' },
    imports: [ref(`buildcache-feature-login_${hash12('Feature-Login')}`), ref('buildcache')],
    export: ref(`buildcache-feature-login_${hash12('Feature-Login')}`),
  },
  {
    what: 'a 200-character branch name is shortened with its hash to fit 128 characters',
    variables: { 'Build.SourceBranch': `refs/heads/${longBranch}` },
    imports: [
      ref(`buildcache-feature-${'x'.repeat(128 - 11 - 13 - 8)}_${hash12(longBranch)}`),
      ref('buildcache'),
    ],
    export: ref(`buildcache-feature-${'x'.repeat(128 - 11 - 13 - 8)}_${hash12(longBranch)}`),
  },
  {
    what: 'pull request in Azure Repos: own branch, target branch, default branch',
    variables: {
      'Build.SourceBranch': 'refs/pull/17/merge',
      'Build.Reason': 'PullRequest',
      'System.PullRequest.SourceBranch': 'refs/heads/fix-typo',
      'System.PullRequest.TargetBranch': 'refs/heads/release-2',
      'System.PullRequest.PullRequestId': '17',
      'System.PullRequest.IsFork': 'False',
    },
    imports: [ref('buildcache-fix-typo'), ref('buildcache-release-2'), ref('buildcache')],
    export: ref('buildcache-fix-typo'),
  },
  {
    what: 'pull request into the default branch (GitHub: branch names without refs/heads/)',
    variables: {
      'Build.SourceBranch': 'refs/pull/42/merge',
      'Build.Reason': 'PullRequest',
      'System.PullRequest.SourceBranch': 'fix-typo',
      'System.PullRequest.TargetBranch': 'main',
      'System.PullRequest.TargetBranchName': 'main',
      'System.PullRequest.PullRequestId': '1234567',
      'System.PullRequest.PullRequestNumber': '42',
      'System.PullRequest.IsFork': 'False',
    },
    imports: [ref('buildcache-fix-typo'), ref('buildcache')],
    export: ref('buildcache-fix-typo'),
  },
  {
    what: 'pull request from a fork (GitHub): its own pr scope, even when the fork branch is named main',
    variables: {
      'Build.SourceBranch': 'refs/pull/42/merge',
      'Build.Reason': 'PullRequest',
      'System.PullRequest.SourceBranch': 'main',
      'System.PullRequest.TargetBranch': 'main',
      'System.PullRequest.PullRequestNumber': '42',
      'System.PullRequest.IsFork': 'True',
    },
    imports: [ref('buildcache-_pr42'), ref('buildcache')],
    export: ref('buildcache-_pr42'),
  },
  {
    what: 'pull request from the default branch into a release branch never writes the default cache',
    variables: {
      'Build.SourceBranch': 'refs/pull/8/merge',
      'Build.Reason': 'PullRequest',
      'System.PullRequest.SourceBranch': 'refs/heads/main',
      'System.PullRequest.TargetBranch': 'refs/heads/release-2',
      'System.PullRequest.PullRequestId': '8',
    },
    imports: [ref('buildcache-_pr8'), ref('buildcache-release-2'), ref('buildcache')],
    export: ref('buildcache-_pr8'),
  },
  {
    what: 'Bitbucket Cloud pull request (builds the source branch itself)',
    variables: {
      'Build.SourceBranch': 'refs/heads/fix-typo',
      'Build.Reason': 'PullRequest',
      'System.PullRequest.SourceBranch': 'fix-typo',
      'System.PullRequest.TargetBranch': 'develop',
      'System.PullRequest.PullRequestId': '5',
      'BuildKitBuild.DefaultBranch': 'develop',
    },
    imports: [ref('buildcache-fix-typo'), ref('buildcache')],
    export: ref('buildcache-fix-typo'),
  },
  {
    what: 'detached refs/pull/… build without pull request variables: its own pr scope',
    variables: { 'Build.SourceBranch': 'refs/pull/99/head' },
    imports: [ref('buildcache-_pr99'), ref('buildcache')],
    export: ref('buildcache-_pr99'),
  },
  {
    what: 'tag build: one shared scope for tags, then the default branch',
    variables: { 'Build.SourceBranch': 'refs/tags/v1.2.3', 'Build.Reason': 'IndividualCI' },
    imports: [ref('buildcache-_tags'), ref('buildcache')],
    export: ref('buildcache-_tags'),
  },
  {
    what: 'a configured default branch: main is then a branch like any other',
    variables: { 'Build.SourceBranch': 'refs/heads/main', 'BuildKitBuild.DefaultBranch': 'refs/heads/trunk' },
    imports: [ref('buildcache-main'), ref('buildcache')],
    export: ref('buildcache-main'),
  },
  {
    what: 'no branch known (a release, a run outside a build): the plain ref, as before',
    variables: {},
    imports: [ref('buildcache')],
    export: ref('buildcache'),
  },
  {
    what: 'a branch named like a platform is hashed, so it never meets a per-platform ref',
    variables: { 'Build.SourceBranch': 'refs/heads/linux-arm64' },
    imports: [ref(`buildcache-linux-arm64_${hash12('linux-arm64')}`), ref('buildcache')],
    export: ref(`buildcache-linux-arm64_${hash12('linux-arm64')}`),
  },
];

describe('branch-scoped cache refs (pure)', () => {
  for (const row of ROWS) {
    it(row.what, () => {
      const refs = branchCacheRefs(BASE, planScopes(facts(row.variables)));
      assert.deepEqual(refs, { imports: row.imports, export: row.export });
      for (const r of refs.imports) assert.ok(isValidTag(r.slice(NAME.length + 1)), r);
    });
  }

  it('the default branch ref is never exported by a pull request build, whatever its variables', () => {
    for (const row of ROWS.filter((r) => r.variables['Build.Reason'] === 'PullRequest')) {
      assert.notEqual(branchCacheRefs(BASE, planScopes(facts(row.variables))).export, ref('buildcache'));
    }
  });

  it('per-platform refs: branch part before platform part, valid tags within 128 characters', () => {
    const plan = planScopes(facts({ 'Build.SourceBranch': 'refs/heads/feature-login' }));
    assert.deepEqual(branchCacheRefs(BASE, plan, 'linux/arm64/v8'), {
      imports: [ref('buildcache-feature-login-linux-arm64-v8'), ref('buildcache-linux-arm64-v8')],
      export: ref('buildcache-feature-login-linux-arm64-v8'),
    });
    const long = planScopes(facts({ 'Build.SourceBranch': `refs/heads/${longBranch}` }));
    const tag = branchCacheRefs(BASE, long, 'linux/arm64/v8').export.slice(NAME.length + 1);
    assert.equal(tag.length, 128);
    assert.ok(isValidTag(tag));
    assert.match(tag, new RegExp(`^buildcache-feature-x+_${hash12(longBranch)}-linux-arm64-v8$`));
  });

  it('two different branches never share a tag (names that sanitise alike, long names, platforms)', () => {
    const branches = [
      'feature-login',
      'feature/login',
      'Feature-Login',
      'feature_login',
      'feature--login',
      `${longBranch}a`,
      `${longBranch}b`,
      'linux-arm64',
      'pr42',
      '_pr42',
      'tags',
      'main-linux',
    ];
    const tags = new Map<string, string>();
    for (const platform of [undefined, 'linux/amd64', 'linux/arm64']) {
      for (const branch of branches) {
        const tag = scopedTag('buildcache', { kind: 'branch', branch }, platform);
        assert.ok(isValidTag(tag), tag);
        const key = `${branch} ${platform ?? ''}`;
        assert.equal(tags.get(tag), undefined, `${key} and ${tags.get(tag) ?? ''} share ${tag}`);
        tags.set(tag, key);
      }
      for (const scope of [
        { kind: 'default' },
        { kind: 'tags' },
        { kind: 'pullRequest', number: '42' },
      ] as const) {
        const tag = scopedTag('buildcache', scope, platform);
        assert.equal(tags.get(tag), undefined, `${scope.kind} shares ${tag} with ${tags.get(tag) ?? ''}`);
        tags.set(tag, `${scope.kind} ${platform ?? ''}`);
      }
    }
  });

  it('throws when the cache tag leaves no room for the branch part', () => {
    assert.throws(() => scopedTag('t'.repeat(120), { kind: 'branch', branch: 'feature/x' }), /no room/);
  });
});
