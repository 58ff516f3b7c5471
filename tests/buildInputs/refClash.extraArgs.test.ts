import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseBuildInputs } from '../../tasks/BuildKitBuild/src/buildInputs/spec';
import { extraArgsRegistryRefs } from '../../tasks/BuildKitBuild/src/buildInputs/refClash';
import { formatProblem, type InputProblem } from '../../tasks/BuildKitBuild/src/core/inputErrors';
import { INPUT_NAMES, type InputName, type RawInputs } from '../../tasks/BuildKitBuild/src/core/inputs';
import { makeContext } from '../support/fakeContext';
import { taskDefinition } from '../support/repo';

/**
 * A cache export in extraArgs (`--export-cache type=registry,ref=…`) reaches buildctl as much as one in
 * cacheTo does, and overwrites an image tag it names just the same.
 */
describe('image refs a cache export in extraArgs would overwrite', () => {
  let work: string;
  before(() => {
    work = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'bkb-clash-extra-')));
    fs.writeFileSync(path.join(work, 'Dockerfile'), 'FROM scratch\n');
  });
  after(() => {
    fs.rmSync(work, { recursive: true, force: true });
  });

  function problems(values: Partial<Record<InputName, string>>): string[] {
    const defaults = new Map(taskDefinition().inputs.map((i) => [i.name, i.defaultValue ?? '']));
    const raw = Object.fromEntries(
      INPUT_NAMES.map((n) => [n, values[n] ?? defaults.get(n) ?? '']),
    ) as unknown as RawInputs;
    const found: InputProblem[] = [];
    const ctx = makeContext({ variables: { 'System.DefaultWorkingDirectory': work } });
    parseBuildInputs({ ...raw, repository: 'team/app', tags: '7\nlatest' }, ctx, 'myacr.azurecr.io', found);
    return found.map(formatProblem);
  }

  for (const extraArgs of [
    '--export-cache type=registry,ref=myacr.azurecr.io/team/app:7',
    '--export-cache=type=registry,ref=myacr.azurecr.io/team/app:latest,mode=max',
    '--progress plain -export-cache "type=registry, ref=MYACR.azurecr.io/team/app:7"',
  ]) {
    it(`names extraArgs and tags for ${extraArgs}`, () => {
      const found = problems({ extraArgs });
      assert.equal(found.length, 1, found.join('\n'));
      assert.match(
        found[0] ?? '',
        /^extraArgs: .*--export-cache.*would overwrite the image tag myacr\.azurecr\.io\/team\/app:(7|latest) in tags/,
      );
    });
  }

  it('leaves other exports and other flags alone', () => {
    assert.deepEqual(
      problems({
        extraArgs:
          '--export-cache type=registry,ref=myacr.azurecr.io/team/app:cache --opt ref=myacr.azurecr.io/team/app:7 --export-cache type=local,dest=/tmp/c',
      }),
      [],
    );
  });

  it('reads the flag in every form buildctl accepts', () => {
    assert.deepEqual(
      extraArgsRegistryRefs([
        '--export-cache',
        'type=registry,ref=r.example/a:1',
        '--export-cache=type=registry,ref=r.example/a:2',
        '-export-cache=type=registry,ref=r.example/a:3',
        '--export-cache',
        'type=inline',
        '--import-cache',
        'type=registry,ref=r.example/a:4',
      ]).map((r) => r.ref),
      ['r.example/a:1', 'r.example/a:2', 'r.example/a:3'],
    );
  });
});
