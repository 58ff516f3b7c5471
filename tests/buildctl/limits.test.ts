import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { commandLineLimits, commandLineProblems } from '../../tasks/BuildKitBuild/src/buildctl/limits';
import { tempDir } from '../support/fakeDaemon';
import { makeContext } from '../support/fakeContext';
import { buildInputsFor, writeBuildContext } from '../support/buildInputs';

describe('limits of the operating system on starting buildctl', () => {
  let dir: string;
  beforeEach(() => {
    dir = tempDir();
    writeBuildContext(dir);
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const ctx = (platform: NodeJS.Platform = 'linux', env: Record<string, string> = {}) =>
    makeContext({ platform, env, variables: { 'Agent.TempDirectory': dir } });

  it('knows each system', () => {
    assert.deepEqual(
      (['linux', 'darwin', 'win32'] as const).map((p) => [
        commandLineLimits(p).wordBytes,
        commandLineLimits(p).totalBytes,
      ]),
      [
        [131_071, 2_097_152],
        [undefined, 1_048_576],
        [undefined, 32_767],
      ],
    );
  });

  it('passes an ordinary build', () => {
    assert.deepEqual(commandLineProblems(buildInputsFor(dir, { tags: '1\nlatest' }), ctx()), []);
  });

  it('names tags when their refs make one argument too long', () => {
    const tags = Array.from({ length: 6000 }, (_, i) => `tag-${i}`).join('\n');
    const problems = commandLineProblems(buildInputsFor(dir, { tags }), ctx());
    assert.deepEqual(
      problems.map((p) => p.input),
      ['tags'],
    );
    assert.match(
      problems[0]?.message ?? '',
      /^makes one buildctl argument of \d+ bytes, longer than the 131071 bytes Linux/,
    );
  });

  it('names the input that takes most of a command line over the total (here Windows)', () => {
    const buildArgs = Array.from({ length: 400 }, (_, i) => `ARG_${i}=${'v'.repeat(60)}`).join('\n');
    const problems = commandLineProblems(buildInputsFor(dir, { buildArgs, labels: 'a=b' }), ctx('win32'));
    assert.deepEqual(
      problems.map((p) => p.input),
      ['buildArgs'],
    );
    assert.match(problems[0]?.message ?? '', /more than the 32767 bytes Windows allows/);
  });

  it('counts the environment buildctl gets, and attributes extraArgs words to extraArgs', () => {
    const inputs = buildInputsFor(dir, { extraArgs: `--opt label:x=${'e'.repeat(5000)}` });
    const limits = { wordBytes: 4000, totalBytes: 1_000_000, system: 'Test' };
    assert.deepEqual(
      commandLineProblems(inputs, ctx(), limits).map((p) => p.input),
      ['extraArgs'],
    );
    const crowded = ctx('linux', { BIG: 'z'.repeat(999_000) });
    const buildArgs = `A=${'a'.repeat(3000)}`;
    assert.deepEqual(commandLineProblems(buildInputsFor(dir, { buildArgs }), ctx(), limits), []);
    assert.deepEqual(
      commandLineProblems(buildInputsFor(dir, { buildArgs }), crowded, limits).map((p) => p.input),
      ['buildArgs'],
      'over the total with the environment: the largest input is named',
    );
  });
});
