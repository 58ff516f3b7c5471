import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { runTask, type TaskRun } from '../support/agent';
import { dockerRegistryConnection } from '../support/connections';
import { commandOf, fakeBuildctlDir, fakeBuildctlEnv, readInvocations } from '../support/fakeBuildctl';
import { startFakeDaemon, tempDir, type FakeDaemon } from '../support/fakeDaemon';
import { bundledTaskEntry } from '../support/repo';
import { writeBuildContext } from '../support/buildInputs';

/** Every value that follows `flag` in an argv, in order. */
function valuesOf(argv: readonly string[], flag: string): string[] {
  const values: string[] = [];
  argv.forEach((arg, i) => {
    if (arg === flag && i + 1 < argv.length) values.push(argv[i + 1] ?? '');
  });
  return values;
}

/** The `ref=` of a `type=registry,...` cache line. */
const refOf = (line: string): string | undefined => /(?:^|,)ref=([^,]+)/.exec(line)?.[1];

const PR = { 'Build.Reason': 'PullRequest' };

/** Pull requests of every shape the agent gives, each into the default branch `main` where it has one. */
const PULL_REQUESTS: readonly { readonly what: string; readonly variables: Record<string, string> }[] = [
  {
    what: 'Azure Repos, same repository',
    variables: {
      ...PR,
      'Build.SourceBranch': 'refs/pull/17/merge',
      'System.PullRequest.SourceBranch': 'refs/heads/fix',
      'System.PullRequest.TargetBranch': 'refs/heads/main',
      'System.PullRequest.PullRequestId': '17',
      'System.PullRequest.IsFork': 'False',
    },
  },
  {
    what: 'Azure Repos, from main into a release branch',
    variables: {
      ...PR,
      'Build.SourceBranch': 'refs/pull/18/merge',
      'System.PullRequest.SourceBranch': 'refs/heads/main',
      'System.PullRequest.TargetBranch': 'refs/heads/release',
      'System.PullRequest.PullRequestId': '18',
    },
  },
  {
    what: 'GitHub, from a fork whose branch is main',
    variables: {
      ...PR,
      'Build.SourceBranch': 'refs/pull/42/merge',
      'System.PullRequest.SourceBranch': 'main',
      'System.PullRequest.TargetBranch': 'main',
      'System.PullRequest.TargetBranchName': 'main',
      'System.PullRequest.PullRequestNumber': '42',
      'System.PullRequest.PullRequestId': '998877',
      'System.PullRequest.IsFork': 'True',
    },
  },
  {
    what: 'GitHub, from a fork whose branch is main, IsFork not given',
    variables: {
      ...PR,
      'Build.SourceBranch': 'refs/pull/43/merge',
      'System.PullRequest.SourceBranch': 'main',
      'System.PullRequest.TargetBranch': 'main',
      'System.PullRequest.PullRequestNumber': '43',
    },
  },
  {
    what: 'GitHub, from a branch refs/heads/main (a name that looks like the default ref)',
    variables: {
      ...PR,
      'Build.SourceBranch': 'refs/pull/44/merge',
      'System.PullRequest.SourceBranch': 'refs/heads/main',
      'System.PullRequest.TargetBranch': 'main',
      'System.PullRequest.PullRequestNumber': '44',
      'System.PullRequest.IsFork': 'False',
    },
  },
  {
    what: 'Bitbucket Cloud, building the source branch itself',
    variables: {
      ...PR,
      'Build.SourceBranch': 'refs/heads/main',
      'System.PullRequest.SourceBranch': 'main',
      'System.PullRequest.TargetBranch': 'develop',
      'System.PullRequest.PullRequestId': '5',
    },
  },
  {
    what: 'only Build.Reason says pull request',
    variables: { ...PR, 'Build.SourceBranch': 'refs/heads/main' },
  },
  {
    what: 'a refs/pull ref queued by hand (Manual), no pull request variables',
    variables: { 'Build.Reason': 'Manual', 'Build.SourceBranch': 'refs/pull/7/head' },
  },
  {
    what: 'a configured default branch (BuildKitBuild.DefaultBranch) as the source',
    variables: {
      ...PR,
      'Build.SourceBranch': 'refs/pull/9/merge',
      'System.PullRequest.SourceBranch': 'refs/heads/trunk',
      'System.PullRequest.TargetBranch': 'refs/heads/release',
      'System.PullRequest.PullRequestId': '9',
      'BuildKitBuild.DefaultBranch': 'refs/heads/trunk',
    },
  },
];

describe('branch-scoped registry cache: attacks (black box)', function () {
  this.timeout(60_000);
  let d: FakeDaemon;
  let dir: string;
  let records: string;
  before(async () => {
    d = await startFakeDaemon();
  });
  after(async () => {
    await d.close();
  });
  beforeEach(() => {
    dir = tempDir();
    records = tempDir();
    writeBuildContext(dir);
  });

  async function run(
    variables: Record<string, string>,
    inputs: Record<string, string> = {},
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
      env: fakeBuildctlEnv(records, { cacheDir: tempDir() }),
    });
  }
  const lastBuildArgv = (): string[] => {
    const build = readInvocations(records)
      .filter((i) => commandOf(i) === 'build')
      .at(-1);
    assert.ok(build, 'buildctl build ran');
    return build.argv;
  };

  for (const inputs of [{}, { cache: 'branch', cacheRef: 'r.example/cache/app:bc' }] as Record<
    string,
    string
  >[]) {
    const defaultRef = 'cacheRef' in inputs ? 'r.example/cache/app:bc' : 'r.example/team/app:buildcache';
    it(`no pull request writes the default branch's ${defaultRef}, whatever its shape`, async () => {
      for (const pr of PULL_REQUESTS) {
        const result = await run(pr.variables, inputs);
        assert.equal(result.result, 'Succeeded', `${pr.what}: ${result.resultMessage}`);
        const argv = lastBuildArgv();
        const exports = valuesOf(argv, '--export-cache').map(refOf);
        assert.equal(exports.length, 1, `${pr.what}: one export`);
        assert.notEqual(exports[0], defaultRef, `${pr.what} writes the default branch's cache`);
        assert.ok(
          exports[0]?.startsWith(`${defaultRef}-`),
          `${pr.what}: ${exports[0] ?? ''} is a scoped ref`,
        );
        const imports = valuesOf(argv, '--import-cache').map(refOf);
        assert.equal(imports.at(-1), defaultRef, `${pr.what}: warm from the default branch last`);
      }
    });
  }

  it('a hostile branch name reaches the log inert and the summary not at all', async () => {
    const branch = '##vso[task.setvariable variable=owned]yes`|x|`';
    const result = await run({
      ...PR,
      'Build.SourceBranch': 'refs/pull/3/merge',
      'System.PullRequest.SourceBranch': `refs/heads/${branch}`,
      'System.PullRequest.TargetBranch': `refs/heads/${branch}2`,
      'System.PullRequest.PullRequestId': '3',
    });
    assert.equal(result.result, 'Succeeded', result.resultMessage);
    assert.ok(!result.commands.some((c) => /owned/.test(JSON.stringify(c.properties))), 'no variable set');
    // The agent reads one command per line, from the first `##vso[` (task-lib's debug echo of a variable
    // starts with its own): no line may run the branch's.
    for (const line of result.stdout.split('\n')) {
      const first = line.indexOf('##vso[');
      assert.ok(first < 0 || !line.startsWith('##vso[task.setvariable variable=owned', first), line);
    }
    assert.match(result.stdout, /^Cache scope: branch .*task\.setvariable variable=owned\]yes`\|x\|`$/m);
    const summary = result.commands.find((c) => c.name === 'task.addattachment');
    assert.ok(summary);
    const text = fs.readFileSync(summary.message, 'utf8');
    assert.doesNotMatch(text, /owned\]|`\|x\|`/);
    for (const row of text.split('\n').filter((l) => l.startsWith('| ') && /buildcache/.test(l))) {
      assert.equal(row.split(/(?<!\\)\|/).length, 4, `one two-column row: ${row}`);
    }
  });
});
