import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runTask, type TaskRun } from '../support/agent';
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
import { dockerRegistryConnection } from '../support/connections';
import { parsePlainLine } from '../../tasks/BuildKitBuild/src/buildctl/progress';
import {
  retryDelayMs,
  transientReason,
  TransientPushTracker,
} from '../../tasks/BuildKitBuild/src/buildctl/transientPush';

const PASSWORD = 'flaky-registry-pa55-w0rd';
const MANIFEST = 'https://r.example/v2/team/app/manifests/7';

describe('transient push failures (pure)', () => {
  it('names 5xx, 429, a reset connection and EOF as BuildKit prints them; refusals and other errors are not transient', () => {
    const rows: [string, string | undefined][] = [
      [
        `failed to push r.example/team/app:7: unexpected status from PUT request to ${MANIFEST}: 503 Service Unavailable`,
        'HTTP 503',
      ],
      [
        `failed to push r.example/team/app:7: unexpected status from POST request to https://r.example/v2/team/app/blobs/uploads/: 502 Bad Gateway`,
        'HTTP 502',
      ],
      [
        `failed to push r.example/team/app:7: unexpected status from PUT request to ${MANIFEST}: 429 Too Many Requests`,
        'HTTP 429',
      ],
      [
        `failed to push r.example/team/app:7: failed to do request: Put "${MANIFEST}": read tcp 10.0.0.1:5->10.0.0.2:443: read: connection reset by peer`,
        'connection reset',
      ],
      [`failed to push r.example/team/app:7: failed to do request: Put "${MANIFEST}": EOF`, 'EOF'],
      [
        `failed to push r.example/team/app:7: unexpected status from PUT request to ${MANIFEST}: 403 Forbidden`,
        undefined,
      ],
      [
        `failed to push r.example/team/app:7: unexpected status from PUT request to ${MANIFEST}: 400 Bad Request`,
        undefined,
      ],
      [
        'failed to push r.example/team/app:7: push access denied, repository does not exist or may require authorization: authorization failed',
        undefined,
      ],
      [
        'failed to authorize: failed to fetch oauth token: unexpected status from GET request to https://r.example/oauth2/token: 401 Unauthorized',
        undefined,
      ],
      ['process "/bin/sh -c make" did not complete successfully: exit code: 2', undefined],
    ];
    for (const [text, reason] of rows) assert.equal(transientReason(text), reason, text);
  });

  it('only errors of export vertices allow another attempt; any other error makes the attempt final', () => {
    const names = new Map([
      [6, '[2/3] RUN curl https://r.example/'],
      [9, 'exporting to image'],
      [10, 'exporting cache to registry'],
    ]);
    const observe = (tracker: TransientPushTracker, line: string) => {
      tracker.observe(parsePlainLine(line), (v) => names.get(v));
    };
    const push = new TransientPushTracker();
    observe(
      push,
      `#9 ERROR: failed to push r.example/team/app:7: unexpected status from PUT request to ${MANIFEST}: 503 Service Unavailable`,
    );
    assert.equal(push.retryReason(), 'HTTP 503');

    const cache = new TransientPushTracker();
    observe(
      cache,
      '#10 ERROR: failed to do request: Put "https://r.example/v2/team/app/manifests/buildcache": EOF',
    );
    assert.equal(cache.retryReason(), 'EOF');

    // A RUN step that fails while printing a registry's 503 is a failed step.
    const step = new TransientPushTracker();
    observe(step, `#6 ERROR: unexpected status from GET request to ${MANIFEST}: 503 Service Unavailable`);
    observe(
      step,
      `#9 ERROR: failed to push r.example/team/app:7: failed to do request: Put "${MANIFEST}": EOF`,
    );
    assert.equal(step.retryReason(), undefined);
  });

  it('backs off: the first delay, then twice it', () => {
    assert.deepEqual(
      [2, 3].map((n) => retryDelayMs(n, 10_000)),
      [10_000, 20_000],
    );
  });
});

describe('transient push failures, black-box', function () {
  this.timeout(60_000);
  let daemon: FakeDaemon;
  let dir: string;
  let records: string;
  let state: string;
  before(async () => {
    daemon = await startFakeDaemon();
  });
  after(async () => {
    await daemon.close();
  });
  beforeEach(() => {
    dir = tempDir();
    records = tempDir();
    state = path.join(tempDir(), 'push-failures');
    writeBuildContext(dir);
  });

  async function run(
    behaviour: FakeBuildctlBehaviour,
    variables: Record<string, string> = {},
  ): Promise<TaskRun> {
    return runTask({
      entry: await bundledTaskEntry(),
      cwd: dir,
      pathPrepend: [fakeBuildctlDir],
      inputs: {
        containerRegistry: 'reg',
        repository: 'team/app',
        tags: '7',
        buildkitAddress: daemon.address,
      },
      endpoints: { reg: dockerRegistryConnection('https://r.example', 'builder', PASSWORD) },
      // A short first delay keeps the test quick; the backoff itself is the table above.
      variables: { 'BuildKitBuild.PushRetryDelaySeconds': '0.05', 'System.Debug': 'true', ...variables },
      env: fakeBuildctlEnv(records, behaviour),
    });
  }

  const builds = () => readInvocations(records).filter((i) => commandOf(i) === 'build');

  function summaryOf(result: TaskRun): string {
    const summary = result.commands.find((c) => c.name === 'task.addattachment');
    assert.ok(summary);
    return fs.readFileSync(summary.message, 'utf8');
  }

  function assertNoPasswordPrinted(result: TaskRun): void {
    const printed = `${result.stdout}\n${result.stderr}`
      .split('\n')
      .filter((l) => !l.includes('##vso[task.setsecret]'))
      .join('\n');
    assert.ok(!printed.includes(PASSWORD));
    assert.ok(!printed.includes(Buffer.from(`builder:${PASSWORD}`).toString('base64')));
  }

  for (const kind of ['503', 'reset'] as const) {
    it(`a registry failing the first two pushes (${kind}) ends in success after three attempts of the same build, logged and summarised`, async () => {
      const result = await run({ pushTransient: { kind, times: 2, stateFile: state } });
      assert.equal(result.result, 'Succeeded', result.resultMessage);
      const attempts = builds();
      assert.equal(attempts.length, 3);
      assert.deepEqual(attempts[1]?.argv, attempts[0]?.argv, 'the same build');
      assert.deepEqual(attempts[2]?.argv, attempts[0]?.argv, 'the same build');
      const why = kind === '503' ? 'HTTP 503' : 'connection reset';
      const retries = result.stdout
        .split('\n')
        .filter((l) => l.startsWith('Pushing to the registry failed with a transient error'));
      assert.deepEqual(retries, [
        `Pushing to the registry failed with a transient error (${why}); running the same build again on the same daemon, whose cache holds its steps, so only the push repeats: attempt 2 of 3 in 0.05 s.`,
        `Pushing to the registry failed with a transient error (${why}); running the same build again on the same daemon, whose cache holds its steps, so only the push repeats: attempt 3 of 3 in 0.1 s.`,
      ]);
      assert.match(
        summaryOf(result),
        /\| Attempts \| 3 \(the push was retried after transient registry errors\) \|/,
      );
      assert.match(result.variables.imageDigest ?? '', /^sha256:[0-9a-f]{64}$/);
      assertNoPasswordPrinted(result);
    });
  }

  it('gives up after three attempts and says so', async () => {
    const result = await run({ pushTransient: { kind: '429', times: 5, stateFile: state } });
    assert.equal(result.result, 'Failed');
    assert.equal(builds().length, 3);
    assert.match(result.resultMessage ?? '', /429 Too Many Requests/);
    assert.match(
      result.resultMessage ?? '',
      /429 Too Many Requests The registry kept failing: 3 attempts were made\./,
    );
    assertNoPasswordPrinted(result);
  });

  it('a failed Dockerfile step is never retried, even when its output looks like a flaky registry', async () => {
    const result = await run({
      failStep: 2,
      runOutput: `unexpected status from PUT request to ${MANIFEST}: 503 Service Unavailable`,
      pushTransient: { kind: '503', times: 1, stateFile: state },
    });
    assert.equal(result.result, 'Failed');
    assert.equal(builds().length, 1);
    assert.doesNotMatch(result.stdout, /transient error/);
  });

  it('a refused push (403) is never retried', async () => {
    const result = await run({ pushFailTag: '7' });
    assert.equal(result.result, 'Failed');
    assert.match(result.resultMessage ?? '', /403 Forbidden/);
    assert.equal(builds().length, 1);
    assert.doesNotMatch(result.stdout, /transient error/);
    assert.doesNotMatch(summaryOf(result), /Attempts/);
  });
});
