import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runTask, type TaskRun } from '../support/agent';
import { dockerRegistryConnection } from '../support/connections';
import {
  commandOf,
  fakeBuildctlDir,
  fakeBuildctlEnv,
  readInvocations,
  type FakeBuildctlBehaviour,
} from '../support/fakeBuildctl';
import { startFakeDaemon, tempDir, type FakeDaemon } from '../support/fakeDaemon';
import { bundledTaskEntry } from '../support/repo';
import { writeBuildContext } from '../support/buildInputs';

const NAME = 'r.example/team/app';
const hash12 = (text: string): string => createHash('sha256').update(text).digest('hex').slice(0, 12);

/** Every value that follows `flag` in an argv, in order. */
function valuesOf(argv: readonly string[], flag: string): string[] {
  const values: string[] = [];
  argv.forEach((arg, i) => {
    if (arg === flag && i + 1 < argv.length) values.push(argv[i + 1] ?? '');
  });
  return values;
}

const imported = (...tags: string[]) => tags.map((t) => `type=registry,ref=${NAME}:${t}`);
const exported = (tag: string) => [`type=registry,ref=${NAME}:${tag},mode=max,ignore-error=true`];

interface Case {
  readonly what: string;
  readonly variables: Record<string, string>;
  readonly inputs?: Record<string, string>;
  readonly imports: readonly string[];
  readonly exports: readonly string[];
}

const CASES: readonly Case[] = [
  {
    what: 'CI build of the default branch: the plain buildcache ref, as before',
    variables: { 'Build.SourceBranch': 'refs/heads/main', 'Build.Reason': 'IndividualCI' },
    imports: imported('buildcache'),
    exports: exported('buildcache'),
  },
  {
    what: 'CI build of a feature branch with a slash: its hashed ref, then the default branch',
    variables: { 'Build.SourceBranch': 'refs/heads/feature/login' },
    imports: imported(`buildcache-feature-login_${hash12('feature/login')}`, 'buildcache'),
    exports: exported(`buildcache-feature-login_${hash12('feature/login')}`),
  },
  {
    what: 'Azure Repos pull request into a release branch: own, target, default; writes only its own',
    variables: {
      'Build.SourceBranch': 'refs/pull/17/merge',
      'Build.Reason': 'PullRequest',
      'System.PullRequest.SourceBranch': 'refs/heads/fix-typo',
      'System.PullRequest.TargetBranch': 'refs/heads/release-2',
      'System.PullRequest.PullRequestId': '17',
      'System.PullRequest.IsFork': 'False',
    },
    imports: imported('buildcache-fix-typo', 'buildcache-release-2', 'buildcache'),
    exports: exported('buildcache-fix-typo'),
  },
  {
    what: 'GitHub pull request from a fork: a scope of its own',
    variables: {
      'Build.SourceBranch': 'refs/pull/42/merge',
      'Build.Reason': 'PullRequest',
      'System.PullRequest.SourceBranch': 'main',
      'System.PullRequest.TargetBranch': 'main',
      'System.PullRequest.PullRequestNumber': '42',
      'System.PullRequest.IsFork': 'True',
    },
    imports: imported('buildcache-_pr42', 'buildcache'),
    exports: exported('buildcache-_pr42'),
  },
  {
    what: 'Bitbucket pull request with the default branch named by BuildKitBuild.DefaultBranch',
    variables: {
      'Build.SourceBranch': 'refs/heads/fix-typo',
      'Build.Reason': 'PullRequest',
      'System.PullRequest.SourceBranch': 'fix-typo',
      'System.PullRequest.TargetBranch': 'develop',
      'BuildKitBuild.DefaultBranch': 'develop',
    },
    imports: imported('buildcache-fix-typo', 'buildcache'),
    exports: exported('buildcache-fix-typo'),
  },
  {
    what: 'tag build: the shared tags scope',
    variables: { 'Build.SourceBranch': 'refs/tags/v1.2.3' },
    imports: imported('buildcache-_tags', 'buildcache'),
    exports: exported('buildcache-_tags'),
  },
  {
    what: 'a validation build (push false) reads its scopes and writes nothing',
    variables: { 'Build.SourceBranch': 'refs/heads/feature-x' },
    inputs: { push: 'false' },
    imports: imported('buildcache-feature-x', 'buildcache'),
    exports: [],
  },
  {
    what: 'an explicit cacheRef stays exact with cache: registry',
    variables: { 'Build.SourceBranch': 'refs/heads/feature-x' },
    inputs: { cacheRef: 'cache/app:main' },
    imports: ['type=registry,ref=r.example/cache/app:main'],
    exports: ['type=registry,ref=r.example/cache/app:main,mode=max,ignore-error=true'],
  },
  {
    what: 'an explicit cacheRef is scoped by branch with cache: branch',
    variables: { 'Build.SourceBranch': 'refs/heads/feature-x' },
    inputs: { cacheRef: 'cache/app:bc', cache: 'branch' },
    imports: [
      'type=registry,ref=r.example/cache/app:bc-feature-x',
      'type=registry,ref=r.example/cache/app:bc',
    ],
    exports: ['type=registry,ref=r.example/cache/app:bc-feature-x,mode=max,ignore-error=true'],
  },
  {
    what: 'cacheFrom and cacheTo pass on what was validated: trimmed keys, after the registry cache',
    variables: { 'Build.SourceBranch': 'refs/heads/main' },
    inputs: { cacheFrom: 'type=registry, ref=r.example/other:cache', cacheTo: ' type=local , DEST=/tmp/c ' },
    imports: [...imported('buildcache'), 'type=registry,ref=r.example/other:cache'],
    exports: [...exported('buildcache'), 'type=local,dest=/tmp/c'],
  },
];

describe('branch-scoped registry cache (black box)', function () {
  this.timeout(60_000);
  let d: FakeDaemon;
  let dir: string;
  let records: string;
  let cacheDir: string;
  before(async () => {
    d = await startFakeDaemon();
  });
  after(async () => {
    await d.close();
  });
  beforeEach(() => {
    dir = tempDir();
    records = tempDir();
    cacheDir = tempDir();
    writeBuildContext(dir);
  });

  async function run(
    variables: Record<string, string>,
    inputs: Record<string, string> = {},
    behaviour: FakeBuildctlBehaviour = {},
  ): Promise<TaskRun> {
    return runTask({
      entry: await bundledTaskEntry(),
      cwd: dir,
      pathPrepend: [fakeBuildctlDir],
      inputs: {
        containerRegistry: 'reg',
        repository: 'team/app',
        tags: '7',
        buildkitAddress: d.address,
        ...inputs,
      },
      endpoints: { reg: dockerRegistryConnection('https://r.example', 'builder', 'pa55-w0rd') },
      variables: { 'System.DefaultWorkingDirectory': dir, ...variables },
      env: fakeBuildctlEnv(records, { cacheDir, ...behaviour }),
    });
  }
  const lastBuild = () => {
    const build = readInvocations(records)
      .filter((i) => commandOf(i) === 'build')
      .at(-1);
    assert.ok(build, 'buildctl build ran');
    return build;
  };

  for (const c of CASES) {
    it(`flags: ${c.what}`, async () => {
      const result = await run(c.variables, c.inputs);
      assert.equal(result.result, 'Succeeded', result.resultMessage);
      const { argv } = lastBuild();
      assert.deepEqual(valuesOf(argv, '--import-cache'), c.imports);
      assert.deepEqual(valuesOf(argv, '--export-cache'), c.exports);
      assert.doesNotMatch(result.stdout, /missing ref/, 'buildctl saw every ref');
    });
  }

  it('a pull request builds warm from the default branch, says so, and leaves its cache byte for byte', async () => {
    const main = await run({ 'Build.SourceBranch': 'refs/heads/main', 'Build.Reason': 'IndividualCI' });
    assert.equal(main.result, 'Succeeded', main.resultMessage);
    assert.match(main.stdout, new RegExp(`^Cache import not found: ${NAME}:buildcache$`, 'm'));
    const defaultFile = fs
      .readdirSync(cacheDir)
      .map((f) => path.join(cacheDir, f))
      .find((f) => fs.readFileSync(f, 'utf8').includes(`"${NAME}:buildcache"`));
    assert.ok(defaultFile, 'the default branch exported its cache');
    const before = fs.readFileSync(defaultFile);

    fs.writeFileSync(path.join(dir, 'entrypoint.sh'), '#!/bin/sh\necho changed by the pull request\n');
    const pr = await run({
      'Build.SourceBranch': 'refs/pull/17/merge',
      'Build.Reason': 'PullRequest',
      'System.PullRequest.SourceBranch': 'refs/heads/fix-typo',
      'System.PullRequest.TargetBranch': 'refs/heads/main',
      'System.PullRequest.PullRequestId': '17',
    });
    assert.equal(pr.result, 'Succeeded', pr.resultMessage);
    assert.match(pr.stdout, /^Cache scope: branch fix-typo$/m);
    assert.match(
      pr.stdout,
      new RegExp(`^Registry cache: importing ${NAME}:buildcache-fix-typo, ${NAME}:buildcache$`, 'm'),
    );
    assert.match(pr.stdout, new RegExp(`^Registry cache: exporting to ${NAME}:buildcache-fix-typo$`, 'm'));
    assert.match(pr.stdout, new RegExp(`^Cache import not found: ${NAME}:buildcache-fix-typo$`, 'm'));
    assert.match(pr.stdout, new RegExp(`^Cache import found: ${NAME}:buildcache$`, 'm'));
    assert.match(pr.stdout, /^#\d+ \[2\/3\] RUN make\n#\d+ CACHED$/m);
    assert.match(pr.stdout, /^2 of 3 Dockerfile steps came from the cache/m);
    assert.deepEqual(fs.readFileSync(defaultFile), before, 'the default branch cache is unchanged');

    const summary = pr.commands.find((c) => c.name === 'task.addattachment');
    assert.ok(summary);
    const text = fs.readFileSync(summary.message, 'utf8');
    assert.match(text, /#### Cache/);
    assert.match(text, new RegExp(`\\| Imported \\| \`${NAME}:buildcache-fix-typo\`: not found \\|`));
    assert.match(text, new RegExp(`\\|  \\| \`${NAME}:buildcache\`: found \\|`));
    assert.match(text, new RegExp(`\\| Exported to \\| \`${NAME}:buildcache-fix-typo\` \\|`));
  });
});
