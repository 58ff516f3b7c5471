import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runTask, type TaskRun } from '../support/agent';
import { fakeBuildctlDir, fakeBuildctlEnv, type FakeBuildctlBehaviour } from '../support/fakeBuildctl';
import { startFakeDaemon, tempDir, type FakeDaemon } from '../support/fakeDaemon';
import { bundledTaskEntry } from '../support/repo';
import { assertNoLeaks, assertNoStackTrace, freshHome } from '../support/leaks';
import { dockerRegistryConnection } from '../support/connections';
import { writeBuildContext } from '../support/buildInputs';

/**
 * Hostile and unlucky build output, against the bundled task: what a Dockerfile (often from a pull request,
 * built on a remote daemon) prints must never command the agent, never become an output value, never break
 * the summary's Markdown, never show a secret by being cut; what reached the registry is reported exactly.
 * Every case also gets the leak scans of the other prove suites.
 */

const PASSWORD = 'Kd93-registry-password-Zq8yT3xV1';
const OUTPUTS = new Set(['buildkitAddress', 'imageDigest', 'imageRefs', 'imageRefWithDigest']);
/** The commands the task itself writes; anything else would come from outside. */
const OWN_COMMANDS = new Set([
  'task.setvariable',
  'task.setsecret',
  'task.addattachment',
  'task.logissue',
  'task.issue',
  'task.complete',
  'task.debug',
]);

/** Build output that would command an agent reading it as it is (each line a different disguise). */
const HOSTILE_LINES = [
  '##vso[task.setvariable variable=PWNED]1',
  'at the end ##vso[task.prependpath]/tmp/evil-bin',
  '##vso[task.uploadsummary]/etc/passwd',
  '##vso[task.setsecret]RUN',
  '##[group]a group of the Dockerfile',
  'x ##[error]a fake error',
  '#\u200b#vso[task.setvariable variable=PWNED2]1',
  '##\u0001vso[task.setvariable variable=PWNED3]1',
  '#\u2060#[endgroup]',
  '##VSO[task.setvariable variable=PWNED4]1',
  'ok\r##vso[task.setvariable variable=PWNED5]1',
];
const HOSTILE_STEP =
  'RUN echo "##vso[task.setvariable variable=PWNED6]1" ``` ![pixel](http://127.0.0.1:9/p.png) | <img src=x>';

/**
 * The lines as the agent reads them (split at `\r` and `\n`), each with the characters its culture-sensitive
 * search skips removed: a line holding `##vso[` anywhere is a command, one holding `##[` a formatting command.
 */
function agentLines(stdout: string): string[] {
  return stdout.split(/\r\n|\r|\n/).map((l) => l.replace(/[\p{Cc}\p{Default_Ignorable_Code_Point}]/gu, ''));
}

/** Every command the agent would run comes from the task, and every formatting command is its group. */
function assertOnlyOwnCommands(run: TaskRun): void {
  for (const line of agentLines(run.stdout)) {
    const at = line.search(/##vso\[/i);
    if (at >= 0) {
      assert.equal(at, 0, `a command inside a line: ${line}`);
      const name = /^##vso\[([\w.]+)/.exec(line)?.[1] ?? '';
      assert.ok(OWN_COMMANDS.has(name), `a command the task does not write: ${line}`);
      assert.equal(line.indexOf('##vso[', 1), -1, `a second command in the data: ${line}`);
    }
    if (/##\[/i.test(line)) {
      assert.match(line, /^##\[(group|endgroup)\]/, `a formatting command inside a line: ${line}`);
      assert.doesNotMatch(line, /Dockerfile|fake/, `a formatting command from the build: ${line}`);
    }
  }
  assert.deepEqual(
    Object.keys(run.variables).filter((v) => !OUTPUTS.has(v)),
    [],
    'variables set from the build output',
  );
  for (const command of run.commands) {
    assert.ok(!/##(?:vso)?\[/i.test(command.message), `outside text in ${command.name}: ${command.message}`);
  }
}

/** The summary uploaded with the run, read as the run page would get it. */
function summaryOf(run: TaskRun): string {
  const attachment = run.commands.find((c) => c.name === 'task.addattachment');
  assert.ok(attachment, 'a summary attachment');
  assert.equal(attachment.properties.type, 'Distributedtask.Core.Summary');
  assert.equal(attachment.properties.name, 'BuildKit build');
  return fs.readFileSync(attachment.message, 'utf8');
}

/** The Markdown outside fenced blocks and code spans: where a link, an image or HTML would render. */
function renderedOutsideCode(markdown: string): string {
  const outside: string[] = [];
  let fence: string | undefined;
  for (const line of markdown.split('\n')) {
    const opener = /^`{3,}/.exec(line)?.[0];
    if (fence === undefined && opener !== undefined) fence = opener;
    else if (fence !== undefined && line.trim() === fence) fence = undefined;
    else if (fence === undefined) outside.push(line.replace(/(`+)(?:(?!\1)[^])*?\1(?!`)/g, ''));
  }
  assert.equal(fence, undefined, 'every fenced block is closed');
  return outside.join('\n');
}

interface OutputCase {
  what: string;
  inputs?: Record<string, string>;
  behaviour?: (dir: string) => FakeBuildctlBehaviour;
  check(run: TaskRun, dir: string): void;
}

const DIGEST = `sha256:${'d'.repeat(64)}`;

/** Lines over 64 KiB made of the password and a separator: cut anywhere, some cut falls inside a copy. */
function secretFlood(dir: string): string {
  const file = path.join(dir, 'long-lines.txt');
  const copies = Array.from({ length: 3000 }, () => PASSWORD).join('.');
  const shift = Math.floor(PASSWORD.length / 2);
  fs.writeFileSync(file, `${copies}\n${'s'.repeat(shift)}${copies}\n`);
  return file;
}

const CASES: OutputCase[] = [
  {
    what: 'a RUN step prints agent commands in every disguise: all shown as text, nothing set',
    behaviour: (dir) => {
      const file = path.join(dir, 'hostile.txt');
      fs.writeFileSync(file, HOSTILE_LINES.join('\n'));
      return { runOutputFile: file, runInstruction: HOSTILE_STEP };
    },
    check: (run) => {
      assert.equal(run.result, 'Succeeded', run.resultMessage);
      assertOnlyOwnCommands(run);
      assert.match(run.stdout, /# #vso\[task\.prependpath\]\/tmp\/evil-bin/, 'shown as text');
      assert.match(run.stdout, /^#6 \[2\/3\] RUN echo "# #vso\[task\.setvariable variable=PWNED6\]1"/m);
    },
  },
  {
    what: 'a failing step named with agent commands and Markdown: one issue, inert text, a summary that holds',
    behaviour: () => ({ failStep: 3, runInstruction: HOSTILE_STEP }),
    check: (run) => {
      assert.equal(run.result, 'Failed');
      assertOnlyOwnCommands(run);
      const issues = run.commands.filter((c) => c.name === 'task.logissue' || c.name === 'task.issue');
      assert.equal(issues.length, 1, 'reported once');
      assert.equal(issues[0]?.properties.linenumber, '2');
      assert.equal(issues[0].message, run.resultMessage);
      const summary = summaryOf(run);
      assert.match(summary, /^\| Pushed \| no \|$/m);
      const rendered = renderedOutsideCode(summary);
      assert.doesNotMatch(rendered, /!\[|\]\(|<img|pixel/, rendered);
      assert.match(summary, /PWNED6/, 'the step is in the summary, as code');
      assert.equal(run.variables.imageDigest, undefined);
    },
  },
  {
    what: 'a long line holding the registry password at the 64 KiB cut: never shown in two halves',
    behaviour: (dir) => ({ runOutputFile: secretFlood(dir) }),
    check: (run) => {
      assert.equal(run.result, 'Succeeded', run.resultMessage);
      // The agent masks each line on its own: a password cut in two would show across two lines.
      const lines = run.stdout
        .split('\n')
        .filter((l) => !l.startsWith('##vso[task.setsecret]'))
        .map((l) => l.split(PASSWORD).join('***'));
      const halves = lines.slice(1).filter((l, i) => `${lines[i] ?? ''}${l}`.includes(PASSWORD));
      assert.deepEqual(halves.length, 0, 'a password cut across two lines');
      const masked = lines.reduce((n, l) => n + l.split('***').length - 1, 0);
      assert.ok(masked >= 6000, `every copy came through, masked: ${masked}`);
    },
  },
  {
    what: 'the second of three tags fails to push: exactly what reached the registry is reported',
    inputs: { tags: '1\n2\n3' },
    behaviour: () => ({ pushFailTag: '2', digest: DIGEST }),
    check: (run) => {
      assert.equal(run.result, 'Failed');
      assert.match(
        run.resultMessage ?? '',
        new RegExp(
          `failed to push r\\.example/team/app:2: .*403 Forbidden r\\.example/team/app:1 reached the registry with digest ${DIGEST}; r\\.example/team/app:2, r\\.example/team/app:3 did not\\.$`,
        ),
      );
      assert.deepEqual(
        [run.variables.imageRefs, run.variables.imageDigest, run.variables.imageRefWithDigest],
        ['r.example/team/app:1', DIGEST, `r.example/team/app@${DIGEST}`],
      );
      const summary = summaryOf(run);
      assert.match(summary, /^\| Pushed \| partly: 1 of 3 tags \|$/m);
      assert.match(summary, /`r\.example\/team\/app:2` push failed/);
      assert.doesNotMatch(summary, /\| Pushed \| yes \|/);
    },
  },
  {
    what: 'push false: a local digest labelled as such, no pinned reference anywhere',
    inputs: { push: 'false' },
    behaviour: () => ({ digest: DIGEST }),
    check: (run) => {
      assert.equal(run.result, 'Succeeded', run.resultMessage);
      assert.equal(run.variables.imageRefWithDigest, undefined);
      assert.equal(run.variables.imageDigest, undefined);
      assert.match(
        run.resultMessage ?? '',
        new RegExp(`without pushing it \\(push is false\\); its local digest is ${DIGEST}`),
      );
      const summary = summaryOf(run);
      assert.doesNotMatch(summary, /Pinned reference|@sha256/);
      assert.match(summary, /\(local build, in no registry\)/);
      assert.match(summary, /^\| Pushed \| no \(push is false\) \|$/m);
    },
  },
];

describe('build output from outside: inert, exact, never leaking (black box)', function () {
  this.timeout(120_000);
  let daemon: FakeDaemon;
  before(async () => {
    daemon = await startFakeDaemon();
  });
  after(() => daemon.close());

  for (const testCase of CASES) {
    it(testCase.what, async () => {
      const dir = tempDir();
      const records = tempDir();
      writeBuildContext(dir);
      const home = freshHome();
      const run = await runTask({
        entry: await bundledTaskEntry(),
        cwd: dir,
        pathPrepend: [fakeBuildctlDir],
        inputs: {
          containerRegistry: 'reg',
          repository: 'team/app',
          tags: '7',
          buildkitAddress: daemon.address,
          ...testCase.inputs,
        },
        endpoints: { reg: dockerRegistryConnection('https://r.example', 'builder', PASSWORD) },
        env: { HOME: home, ...fakeBuildctlEnv(records, testCase.behaviour?.(dir) ?? {}) },
        timeoutMs: 60_000,
      });
      try {
        testCase.check(run, dir);
        assertNoStackTrace(run);
        assertNoLeaks(run, [PASSWORD], home);
      } finally {
        for (const d of [run.tempDirectory, home, dir, records])
          fs.rmSync(d, { recursive: true, force: true });
      }
    });
  }
});
