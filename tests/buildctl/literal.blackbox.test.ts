import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runTask, startTask, type TaskRun, type TaskRunOptions } from '../support/agent';
import {
  commandOf,
  fakeBuildctlDir,
  fakeBuildctlEnv,
  readInvocations,
  type FakeBuildctlInvocation,
} from '../support/fakeBuildctl';
import { startFakeDaemon, type FakeDaemon } from '../support/fakeDaemon';
import { bundledTaskEntry } from '../support/repo';
import { secretValue } from '../support/servers/loopback';
import { assertNoLeaks, assertNoStackTrace, freshHome } from '../support/leaks';
import { dockerRegistryConnection } from '../support/connections';

/**
 * Inputs full of shell metacharacters reach buildctl literally: the task never runs a shell, so
 * `$(...)`, backticks, `;`, `|`, `&&`, redirections, quotes and globs are just characters. Each run
 * succeeds, the fake buildctl's recorded argv holds the values exactly, and no file a would-be shell
 * would have created exists afterwards.
 */

const HUB = 'HUB-LITERAL';

/** The pairs of `--opt` values of an argv, in order. */
const opts = (argv: readonly string[]): string[] =>
  argv.flatMap((arg, i) => (arg === '--opt' ? [argv[i + 1] ?? ''] : []));
const valuesOf = (argv: readonly string[], flag: string): string[] =>
  argv.flatMap((arg, i) => (arg === flag ? [argv[i + 1] ?? ''] : []));

describe('shell metacharacters pass through literally (black-box, bundled task)', function () {
  this.timeout(60_000);
  let entry: string;
  let daemon: FakeDaemon;
  let scratch: string;
  let context: string;
  let home: string;
  let records: string;
  /** Where a shell, had one run, would have written: none of these may exist after a run. */
  let pwned: string;
  const password = secretValue('hub-password');
  const tokenValue = `$(whoami)\`id\`;|&&>${secretValue('token')}`;

  before(async () => {
    entry = await bundledTaskEntry();
    daemon = await startFakeDaemon();
  });
  after(async () => {
    await daemon.close();
  });
  beforeEach(() => {
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'bkb-literal-'));
    context = path.join(scratch, 'ctx $(whoami) ; `id` | & > x');
    fs.mkdirSync(context);
    fs.writeFileSync(path.join(context, 'Dockerfile'), 'FROM alpine:3.20\nRUN make\n');
    home = freshHome();
    records = fs.mkdtempSync(path.join(os.tmpdir(), 'bkb-literal-records-'));
    pwned = path.join(os.tmpdir(), `pwned-${randomBytes(6).toString('hex')}`);
  });
  afterEach(() => {
    for (const dir of [scratch, home, records]) fs.rmSync(dir, { recursive: true, force: true });
    for (const file of fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith(path.basename(pwned)))) {
      fs.rmSync(path.join(os.tmpdir(), file), { recursive: true, force: true });
    }
  });

  function options(inputs: Record<string, string>, env: Record<string, string> = {}): TaskRunOptions {
    const hub = dockerRegistryConnection('https://registry.example/', 'builder', password);
    return {
      entry,
      inputs: {
        containerRegistry: HUB,
        repository: 'team/app',
        tags: 'v1',
        buildkitAddress: daemon.address,
        context,
        ...inputs,
      },
      endpoints: { [HUB]: hub },
      env: { HOME: home, ...fakeBuildctlEnv(records), ...env },
      pathPrepend: [fakeBuildctlDir],
      cwd: scratch,
    };
  }

  /** Checks a run succeeded without leaks and returns the one `buildctl build` it started. */
  function build(run: TaskRun): FakeBuildctlInvocation {
    try {
      const explain = `${run.result ?? '(no result)'}: ${run.resultMessage ?? ''}\n${run.stdout}\n${run.stderr}`;
      assert.equal(run.result, 'Succeeded', explain);
      assertNoLeaks(run, [password, tokenValue], home);
      const builds = readInvocations(records).filter((i) => commandOf(i) === 'build');
      assert.equal(builds.length, 1);
      const found = builds[0];
      assert.ok(found);
      return found;
    } finally {
      fs.rmSync(run.tempDirectory, { recursive: true, force: true });
    }
  }

  function assertNothingPwned(): void {
    const made = fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith(path.basename(pwned)));
    assert.deepEqual(made, [], 'no file created by a would-be shell');
  }

  it('build args, labels, secrets, cache lines, the Dockerfile name, context and extraArgs', async () => {
    const dockerfileName = "build $(id) & `uname`; rm -rf ~ | 'q'.Dockerfile";
    fs.writeFileSync(path.join(context, dockerfileName), 'FROM alpine:3.20\nRUN make\n');
    const secretFile = path.join(scratch, `npm "rc", $(id) & ;more.txt`);
    fs.writeFileSync(secretFile, 'registry=https://npm.example/\n');
    const buildArgs: Record<string, string> = {
      SUBST: `$(touch ${pwned}-subst)`,
      BACKTICKS: `\`touch ${pwned}-backticks\``,
      CHAIN: `a; touch ${pwned}-chain && echo b || true`,
      PIPE: `x | tee ${pwned}-pipe`,
      REDIRECT: `> ${pwned}-redirect 2>&1 < /etc/passwd >> ${pwned}-append`,
      QUOTES: `"double" 'single' \\"escaped\\" it's`,
      GLOB: '* ?.txt [a-z]* ~ ~root',
      DOLLAR: '$HOME ${PATH} $$ $1 $? $(whoami)',
      EQUALS: 'a=b=c,d=e',
      LONG: `${'$(whoami);|&`'.repeat(400)}end`,
    };
    const labels = {
      'org.example.cmd': `$(rm -rf /); \`uname\` && echo "hi" > ${pwned}-label`,
      'org.example.glob': '*.* \'quoted\' "too"',
    };
    const cacheFrom = `type=azblob,account_url=https://acct.blob.core.windows.net/?sv=1&sig=$(whoami)|x,name=app`;
    const extraArgs = `--opt 'build-arg:EXTRA=$(touch ${pwned}-extra) \`id\` ; | && > ${pwned}-extra2' --opt "build-arg:DQ=it's \\"quoted\\"" --opt build-arg:VAR=$VAR`;
    const run = await startTask(
      options(
        {
          dockerfile: dockerfileName,
          buildArgs: Object.entries(buildArgs)
            .map(([k, v]) => `${k}=${v}`)
            .join('\n'),
          labels: Object.entries(labels)
            .map(([k, v]) => `${k}=${v}`)
            .join('\n'),
          addPipelineMetadata: 'false',
          // The secrets grammar is buildctl's CSV: a field with a quote or a comma is quoted, "" inside.
          secrets: `id=npmrc,"src=${secretFile.replace(/"/g, '""')}"\nid=token.x-y_z,env=BKB_LITERAL_TOKEN`,
          cacheFrom,
          extraArgs,
        },
        { BKB_LITERAL_TOKEN: tokenValue },
      ),
    ).done;
    const seen = build(run);
    const optValues = opts(seen.argv);
    for (const [name, value] of Object.entries(buildArgs)) {
      assert.ok(optValues.includes(`build-arg:${name}=${value}`), `build arg ${name} exactly`);
    }
    for (const [key, value] of Object.entries(labels)) {
      assert.ok(optValues.includes(`label:${key}=${value}`), `label ${key} exactly`);
    }
    assert.ok(optValues.includes(`filename=${dockerfileName}`));
    assert.ok(valuesOf(seen.argv, '--local').includes(`context=${context}`));
    // buildctl reads --secret as CSV: the path with a quote and a comma is one quoted field.
    assert.deepEqual(valuesOf(seen.argv, '--secret'), [
      `id=npmrc,"src=${secretFile.replace(/"/g, '""')}"`,
      'id=token.x-y_z,env=BKB_LITERAL_TOKEN',
    ]);
    assert.ok(valuesOf(seen.argv, '--import-cache').includes(cacheFrom));
    assert.deepEqual(seen.argv.slice(-6), [
      '--opt',
      `build-arg:EXTRA=$(touch ${pwned}-extra) \`id\` ; | && > ${pwned}-extra2`,
      '--opt',
      `build-arg:DQ=it's "quoted"`,
      '--opt',
      'build-arg:VAR=$VAR',
    ]);
    assertNothingPwned();
  });

  it('a build argument of 64 KiB on one line', async () => {
    const chunk = `$(touch ${pwned}-long);|&\`x\`'"*`;
    const value = chunk.repeat(Math.ceil(65_536 / chunk.length)).slice(0, 65_536);
    assert.equal(Buffer.byteLength(value), 65_536);
    const run = await startTask(options({ buildArgs: `BIG=${value}` })).done;
    const seen = build(run);
    assert.ok(opts(seen.argv).includes(`build-arg:BIG=${value}`));
    assertNothingPwned();
  });

  it('a context directory named in UTF-8 beyond ASCII, holding a file whose name is not UTF-8', async () => {
    const named = path.join(scratch, 'ctx-ü-日本-🙂 $(x)');
    fs.mkdirSync(named);
    fs.writeFileSync(path.join(named, 'Dockerfile'), 'FROM alpine:3.20\nRUN make\n');
    // Linux allows any bytes but '/' and NUL in a name; the task never lists the context itself.
    const raw = Buffer.concat([
      Buffer.from(`${named}/data-`),
      Buffer.from([0xff, 0xfe, 0x80]),
      Buffer.from('.bin'),
    ]);
    fs.writeFileSync(raw, 'x');
    const run = await startTask(options({ context: named })).done;
    const seen = build(run);
    assert.ok(valuesOf(seen.argv, '--local').includes(`context=${named}`));
    assert.ok(fs.existsSync(raw), 'the non-UTF-8 file is still there');
  });

  /**
   * A context path that is not UTF-8. Linux allows the directory (created here through a Buffer path), but
   * no agent can hand it to the task: pipeline YAML and the classic editor are Unicode text, and the agent
   * (.NET) passes inputs as environment strings. Only a process that writes raw bytes into the environment
   * can try, as this test does with /bin/sh; Node.js then decodes INPUT_CONTEXT as UTF-8, turning the bad
   * bytes into U+FFFD, so the path the task sees does not exist. The task must then fail cleanly, naming
   * the input, before anything runs.
   */
  it('a context path that is not UTF-8 fails cleanly, naming context (agents cannot carry it intact)', async function () {
    if (process.platform !== 'linux') this.skip();
    const bytes = Buffer.concat([
      Buffer.from(`${scratch}/ctx-`),
      Buffer.from([0xff, 0xfe]),
      Buffer.from('-dir'),
    ]);
    fs.mkdirSync(bytes);
    fs.writeFileSync(Buffer.concat([bytes, Buffer.from('/Dockerfile')]), 'FROM alpine:3.20\n');
    assert.ok(fs.statSync(bytes).isDirectory(), 'Linux allows the name');
    const run = await runTask({
      ...options({ context: 'set by the shell below' }, { BKB_SCRATCH: scratch }),
      launcher: {
        command: '/bin/sh',
        args: [
          '-c',
          'INPUT_CONTEXT="$(printf "%s/ctx-\\377\\376-dir" "$BKB_SCRATCH")"; export INPUT_CONTEXT; exec "$BKB_NODE" "$BKB_ENTRY"',
        ],
      },
    });
    try {
      assert.equal(run.result, 'Failed', `${run.resultMessage ?? ''}\n${run.stdout}\n${run.stderr}`);
      assert.match(run.resultMessage ?? '', /\bcontext\b/);
      assert.ok(
        run.resultMessage?.includes(`${scratch}/ctx-\uFFFD\uFFFD-dir`),
        'the path as the task saw it',
      );
      assert.deepEqual(
        readInvocations(records).filter((i) => commandOf(i) === 'build'),
        [],
        'nothing built',
      );
      assertNoStackTrace(run);
      assertNoLeaks(run, [password], home);
    } finally {
      fs.rmSync(run.tempDirectory, { recursive: true, force: true });
    }
  });
});
