/**
 * The branch-scoped registry cache: which cache refs a build imports and which one it exports, from the
 * branch facts of the run. Pure: the pipeline variables are read once into BranchFacts by the caller.
 *
 * Tags compose as `<cache tag>[-<branch part>][-<platform part>]`: the default branch has no branch part
 * (so the plain `buildcache` ref of earlier versions stays valid), the platform part is present only for
 * per-platform refs. Every tag fits the OCI tag grammar and its 128 characters.
 *
 * Branch parts, and why two branches never share a ref:
 * - verbatim: a name of lowercase letters, digits, `.` and `-` only, with no operating-system word between
 *   dashes (`linux`, `windows`, ... which start a platform part) and short enough: `feature-login`;
 * - hashed: every other name, `<sanitised and shortened name>_<12 hex of the SHA-256 of the name>`:
 *   `feature-login_3f9a1c2e4b5d`. Verbatim parts have no `_`, hashed parts end in `_` and 12 hex digits;
 * - special scopes (a pull request from a fork, tag builds) start with `_` and a letter that is no hex
 *   digit: `_pr17`, `_tags`.
 * Platform parts never contain `_` and always start with an operating-system word, so branch and platform
 * parts cannot be confused either.
 */
import { createHash } from 'node:crypto';

/** The pipeline variables the scheme reads, as the agent gives them (undefined when unset). */
export interface BranchFacts {
  /** Build.SourceBranch: `refs/heads/x`, `refs/pull/17/merge`, `refs/tags/v1`, a TFVC path. */
  readonly sourceBranch?: string | undefined;
  /** Build.Reason: `PullRequest` for pull request validation. */
  readonly reason?: string | undefined;
  /** System.PullRequest.SourceBranch: `refs/heads/x` (Azure Repos) or `x` (GitHub). */
  readonly pullRequestSourceBranch?: string | undefined;
  /** System.PullRequest.TargetBranch: `refs/heads/main` (Azure Repos) or `main` (GitHub). */
  readonly pullRequestTargetBranch?: string | undefined;
  /** System.PullRequest.TargetBranchName: `main` (newer services); read only without TargetBranch. */
  readonly pullRequestTargetBranchName?: string | undefined;
  /** System.PullRequest.PullRequestNumber (GitHub), else System.PullRequest.PullRequestId. */
  readonly pullRequestNumber?: string | undefined;
  /** System.PullRequest.IsFork: `True` or `False`. */
  readonly pullRequestIsFork?: string | undefined;
  /** The pipeline variable BuildKitBuild.DefaultBranch: the repository's default branch. */
  readonly defaultBranch?: string | undefined;
}

/** The variables read, by the name the agent gives them. */
export const BRANCH_VARIABLES = {
  sourceBranch: 'Build.SourceBranch',
  reason: 'Build.Reason',
  pullRequestSourceBranch: 'System.PullRequest.SourceBranch',
  pullRequestTargetBranch: 'System.PullRequest.TargetBranch',
  pullRequestTargetBranchName: 'System.PullRequest.TargetBranchName',
  pullRequestNumber: 'System.PullRequest.PullRequestNumber',
  pullRequestId: 'System.PullRequest.PullRequestId',
  pullRequestIsFork: 'System.PullRequest.IsFork',
  defaultBranch: 'BuildKitBuild.DefaultBranch',
} as const;

function present(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed === undefined || trimmed === '' ? undefined : trimmed;
}

/** Reads the branch facts once (in parseBuildInputs, never later). */
export function readBranchFacts(variable: (name: string) => string | undefined): BranchFacts {
  const v = (name: string): string | undefined => present(variable(name));
  return {
    sourceBranch: v(BRANCH_VARIABLES.sourceBranch),
    reason: v(BRANCH_VARIABLES.reason),
    pullRequestSourceBranch: v(BRANCH_VARIABLES.pullRequestSourceBranch),
    pullRequestTargetBranch: v(BRANCH_VARIABLES.pullRequestTargetBranch),
    pullRequestTargetBranchName: v(BRANCH_VARIABLES.pullRequestTargetBranchName),
    pullRequestNumber: v(BRANCH_VARIABLES.pullRequestNumber) ?? v(BRANCH_VARIABLES.pullRequestId),
    pullRequestIsFork: v(BRANCH_VARIABLES.pullRequestIsFork),
    defaultBranch: v(BRANCH_VARIABLES.defaultBranch),
  };
}

/** Whose cache a ref holds. */
export type CacheScope =
  | { readonly kind: 'default' }
  | { readonly kind: 'branch'; readonly branch: string }
  | { readonly kind: 'pullRequest'; readonly number: string }
  | { readonly kind: 'tags' };

/** Where a build reads and writes its cache, before refs are made of it. */
export interface ScopePlan {
  /** The build's own scope: imported first and the only one exported to. */
  readonly own: CacheScope;
  /** Then these, in order (a pull request's target branch, the default branch). */
  readonly fallbacks: readonly CacheScope[];
}

/** `refs/heads/x` → `x`; a name without the prefix as it is. */
function branchOf(ref: string | undefined): string | undefined {
  const value = present(ref);
  if (value === undefined) return undefined;
  return value.startsWith('refs/heads/') ? present(value.slice('refs/heads/'.length)) : value;
}

/**
 * Whether a branch is the repository's default branch: the one BuildKitBuild.DefaultBranch names, else
 * `main` or `master` (no predefined variable names the default branch, for any repository type).
 */
export function isDefaultBranch(branch: string, facts: BranchFacts): boolean {
  const configured = branchOf(facts.defaultBranch);
  if (configured !== undefined) return branch === configured;
  return branch === 'main' || branch === 'master';
}

function scopeOfBranch(branch: string, facts: BranchFacts): CacheScope {
  return isDefaultBranch(branch, facts) ? { kind: 'default' } : { kind: 'branch', branch };
}

const PULL_REF = /^refs\/pull\/([^/]+)\//;

/**
 * Pure: the scopes a build imports and exports.
 * - No branch known (a release, a run outside a build): the default scope, as before branch scoping.
 * - A branch build (`refs/heads/x`, or any other name such as a TFVC path): its branch, then the default.
 * - A tag build (`refs/tags/...`): one shared scope for tag builds, then the default branch.
 * - A pull request (Build.Reason PullRequest, a `refs/pull/...` ref, or a target branch set): its source
 *   branch, then its target branch, then the default branch. It never writes the default branch's (or
 *   another repository's, or its target's) cache: a pull request from a fork, from the default branch, from
 *   a branch named like its target or of unknown source branch writes a scope of its own, `pr<number>`.
 */
export function planScopes(facts: BranchFacts): ScopePlan {
  const source = present(facts.sourceBranch);
  const pullNumber = present(facts.pullRequestNumber) ?? (source ? PULL_REF.exec(source)?.[1] : undefined);
  // TargetBranch holds the whole name (`refs/heads/release/2.0` or `release/2.0`); TargetBranchName, the
  // newer short form, is read only without it.
  const target = branchOf(facts.pullRequestTargetBranch) ?? branchOf(facts.pullRequestTargetBranchName);
  const isPull =
    facts.reason?.toLowerCase() === 'pullrequest' ||
    (source !== undefined && PULL_REF.test(source)) ||
    target !== undefined;
  const fallbacks: CacheScope[] = [];
  const add = (scope: CacheScope, own: CacheScope): void => {
    const key = JSON.stringify(scope);
    if (key !== JSON.stringify(own) && !fallbacks.some((s) => JSON.stringify(s) === key))
      fallbacks.push(scope);
  };
  if (isPull) {
    const fork = facts.pullRequestIsFork?.toLowerCase() === 'true';
    const sourceRef = source !== undefined && !PULL_REF.test(source) ? source : undefined;
    const prBranch = branchOf(facts.pullRequestSourceBranch) ?? branchOf(sourceRef);
    // A source branch named like the target is another repository's branch (a fork the service did not
    // flag): writing it would overwrite the target's cache with unreviewed code.
    const own: CacheScope =
      !fork && prBranch !== undefined && !isDefaultBranch(prBranch, facts) && prBranch !== target
        ? { kind: 'branch', branch: prBranch }
        : { kind: 'pullRequest', number: pullNumber ?? 'unknown' };
    if (target !== undefined) add(scopeOfBranch(target, facts), own);
    add({ kind: 'default' }, own);
    return { own, fallbacks };
  }
  if (source === undefined) return { own: { kind: 'default' }, fallbacks: [] };
  if (source.startsWith('refs/tags/')) {
    const own: CacheScope = { kind: 'tags' };
    add({ kind: 'default' }, own);
    return { own, fallbacks };
  }
  const own = scopeOfBranch(branchOf(source) ?? source, facts);
  add({ kind: 'default' }, own);
  return { own, fallbacks };
}

/** The longest tag the OCI distribution spec allows. */
export const MAX_TAG_LENGTH = 128;
const HASH_LENGTH = 12;
/**
 * Operating systems that start a platform part: every GOOS Go knows (BuildKit's platforms are Go's) and
 * `wasi`, Docker's Wasm platform (`wasi/wasm`). BuildKit accepts any OS word in a platform; these are the
 * ones a platform really names.
 */
const OS_WORDS = [
  'aix',
  'android',
  'darwin',
  'dragonfly',
  'freebsd',
  'hurd',
  'illumos',
  'ios',
  'js',
  'linux',
  'nacl',
  'netbsd',
  'openbsd',
  'plan9',
  'solaris',
  'wasi',
  'wasip1',
  'windows',
  'zos',
];
const OS_WORD = new RegExp(`(?:^|-)(?:${OS_WORDS.join('|')})(?:-|$)`);

/** Lowercase letters, digits, `.` and `-`; every other run of characters becomes one `-`. */
function sanitise(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9.-]+/g, '-');
}

function shortHash(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex').slice(0, HASH_LENGTH);
}

/** `linux/arm64/v8` → `linux-arm64-v8`: the platform part of a per-platform cache tag. */
export function platformTagPart(platform: string): string {
  return sanitise(platform.trim()).replace(/^[-.]+|[-.]+$/g, '');
}

/** The branch part of a tag in at most `room` characters; undefined when even a hash does not fit. */
function branchPart(branch: string, room: number): string | undefined {
  if (/^[a-z0-9.-]+$/.test(branch) && !OS_WORD.test(branch) && branch.length <= room) return branch;
  const keep = room - 1 - HASH_LENGTH;
  if (keep < 0) return undefined;
  const readable = sanitise(branch)
    .replace(/^[-.]+/, '')
    .slice(0, keep)
    .replace(/[-.]+$/, '');
  return `${readable}_${shortHash(branch)}`;
}

function scopePart(scope: CacheScope, room: number): string | undefined {
  switch (scope.kind) {
    case 'default':
      return '';
    case 'branch':
      return branchPart(scope.branch, room);
    case 'tags':
      return room >= 5 ? '_tags' : undefined;
    case 'pullRequest': {
      const part = /^\d{1,20}$/.test(scope.number) ? `_pr${scope.number}` : `_pr${shortHash(scope.number)}`;
      return part.length <= room ? part : undefined;
    }
  }
}

/** The image a cache lives in, split: `myacr.azurecr.io/team/app` and `buildcache`. */
export interface CacheBase {
  readonly name: string;
  readonly tag: string;
}

/**
 * Pure: the tag for a scope (and a platform, for per-platform refs). Throws when the cache tag is too
 * long to take a branch part (validation rejects such a cacheRef first).
 */
export function scopedTag(tag: string, scope: CacheScope, platform?: string): string {
  const platformSuffix = platform === undefined ? '' : `-${platformTagPart(platform)}`;
  const room = MAX_TAG_LENGTH - tag.length - platformSuffix.length - 1;
  const part = scopePart(scope, room);
  if (part === undefined) {
    throw new Error(
      `the cache tag '${tag}' leaves no room for a branch part within ${MAX_TAG_LENGTH} characters`,
    );
  }
  return `${tag}${part === '' ? '' : `-${part}`}${platformSuffix}`;
}

/** Room every scope part fits in: a hashed branch part (13), `_pr` and up to 20 digits (23). */
const SCOPE_ROOM = 24;

/** The longest cache tag that still leaves room for any scope part and the given platforms' parts. */
export function maxScopedCacheTagLength(platforms: readonly string[]): number {
  const longest = Math.max(0, ...platforms.map((p) => platformTagPart(p).length + 1));
  return MAX_TAG_LENGTH - longest - 1 - SCOPE_ROOM;
}

/** Where a build's registry cache comes from and goes to. */
export interface BranchCacheRefs {
  /** `--import-cache` refs, in order: own scope first, no duplicates. */
  readonly imports: readonly string[];
  /** The only `--export-cache` ref. */
  readonly export: string;
}

/** Pure: the refs for a build, optionally for one platform (`linux/arm64`) of a per-platform build. */
export function branchCacheRefs(base: CacheBase, plan: ScopePlan, platform?: string): BranchCacheRefs {
  const ref = (scope: CacheScope): string => `${base.name}:${scopedTag(base.tag, scope, platform)}`;
  const exportRef = ref(plan.own);
  const imports = [exportRef];
  for (const scope of plan.fallbacks) {
    const r = ref(scope);
    if (!imports.includes(r)) imports.push(r);
  }
  return { imports, export: exportRef };
}
