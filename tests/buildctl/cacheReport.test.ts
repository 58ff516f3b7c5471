import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { CacheImportTracker, inert } from '../../tasks/BuildKitBuild/src/buildctl/cacheReport';
import { renderCacheSection } from '../../tasks/BuildKitBuild/src/buildctl/summary';
import { parseBuildInputs } from '../../tasks/BuildKitBuild/src/buildInputs/spec';
import type { InputProblem } from '../../tasks/BuildKitBuild/src/core/inputErrors';
import { INPUT_NAMES, type RawInputs } from '../../tasks/BuildKitBuild/src/core/inputs';
import { fakeBuildctlEnv, runFakeBuildctl } from '../support/fakeBuildctl';
import { localizer, makeContext } from '../support/fakeContext';
import { startFakeDaemon, tempDir } from '../support/fakeDaemon';
import { writeBuildContext } from '../support/buildInputs';

const loc = localizer();

describe('cache imports as BuildKit reports them', () => {
  it('reads found, not found and failed imports from plain progress lines', () => {
    const tracker = new CacheImportTracker();
    const lines = [
      '#5 importing cache manifest from r.example/team/app:buildcache-fix',
      '#5 ERROR: failed to configure registry cache importer: r.example/team/app:buildcache-fix: not found',
      '',
      '#6 importing cache manifest from r.example/team/app:buildcache',
      '#6 inferred cache manifest type: application/vnd.oci.image.index.v1+json done',
      '#6 DONE 0.3s',
      '#7 importing cache manifest from r.example/other:cache',
      '#7 ERROR: failed to configure registry cache importer: unexpected status from GET request: 401 Unauthorized',
    ];
    for (const line of lines) tracker.observe(line);
    assert.deepEqual(
      tracker.results([
        'r.example/team/app:buildcache-fix',
        'r.example/team/app:buildcache',
        'r.example/other:cache',
        'r.example/never:seen',
      ]),
      [
        { ref: 'r.example/team/app:buildcache-fix', state: 'missing' },
        { ref: 'r.example/team/app:buildcache', state: 'found' },
        {
          ref: 'r.example/other:cache',
          state: 'failed',
          error:
            'failed to configure registry cache importer: unexpected status from GET request: 401 Unauthorized',
        },
        { ref: 'r.example/never:seen', state: 'notReached' },
      ],
    );
  });

  it('understands what the fake buildctl prints for a missing and a present cache ref', async () => {
    const dir = tempDir();
    const cacheDir = tempDir();
    writeBuildContext(dir);
    const daemon = await startFakeDaemon();
    try {
      const env = fakeBuildctlEnv(tempDir(), { cacheDir });
      const args = (ref: string, exportToo: boolean) => [
        '--addr',
        daemon.address,
        'build',
        '--progress=plain',
        '--frontend=dockerfile.v0',
        '--local',
        `context=${dir}`,
        '--local',
        `dockerfile=${dir}`,
        '--import-cache',
        `type=registry,ref=${ref}`,
        ...(exportToo ? ['--export-cache', `type=registry,ref=${ref},mode=max`] : []),
      ];
      const first = await runFakeBuildctl(args('r.example/team/app:buildcache', true), env);
      assert.equal(first.code, 0, first.stderr);
      const second = await runFakeBuildctl(args('r.example/team/app:buildcache', false), env);
      assert.equal(second.code, 0, second.stderr);
      const read = (stderr: string) => {
        const tracker = new CacheImportTracker();
        for (const l of stderr.split('\n')) tracker.observe(l);
        return tracker.results(['r.example/team/app:buildcache'])[0]?.state;
      };
      assert.equal(read(first.stderr), 'missing');
      assert.equal(read(second.stderr), 'found');
      assert.match(second.stderr, /^#\d+ \[2\/3\] RUN make\n#\d+ CACHED$/m);
    } finally {
      await daemon.close();
    }
  });
});

describe('cache log lines', () => {
  it('never carry an agent command from BuildKit text', () => {
    assert.equal(
      inert('x ##vso[task.setvariable variable=a]b ##[error]c'),
      'x # #vso[task.setvariable variable=a]b # #[error]c',
    );
    assert.equal(inert('line\n##vso[task.complete]'), 'line # #vso[task.complete]');
    assert.equal(inert('plain: not found'), 'plain: not found');
  });
});

describe('the summary cache section', () => {
  it('lists each import with its state and the export, escaping what BuildKit said', () => {
    const lines = renderCacheSection(
      {
        imports: [
          { ref: 'r.example/team/app:buildcache-x', state: 'missing' },
          { ref: 'r.example/team/app:buildcache', state: 'found' },
          { ref: 'r.example/o:c', state: 'failed', error: 'denied | `x`' },
        ],
        exportRef: 'r.example/team/app:buildcache-x',
        exportFailed: true,
      },
      loc,
    );
    assert.deepEqual(lines, [
      '',
      '#### Cache',
      '',
      '| | |',
      '|---|---|',
      '| Imported | `r.example/team/app:buildcache-x`: not found |',
      '|  | `r.example/team/app:buildcache`: found |',
      '|  | `r.example/o:c`: failed: `` denied \\| `x` `` |',
      '| Exported to | `r.example/team/app:buildcache-x` failed (the build still succeeded) |',
    ]);
  });

  it('is left out without a registry cache', () => {
    assert.deepEqual(renderCacheSection(undefined, loc), []);
    assert.deepEqual(renderCacheSection({ imports: [], exportRef: undefined, exportFailed: false }, loc), []);
  });
});

describe('branch scoping of an explicit cacheRef', () => {
  function parse(values: Partial<Record<string, string>>, variables: Record<string, string>) {
    const dir = tempDir();
    writeBuildContext(dir);
    const ctx = makeContext({ variables: { 'System.DefaultWorkingDirectory': dir, ...variables } });
    const raw = Object.fromEntries(INPUT_NAMES.map((n) => [n, values[n] ?? ''])) as RawInputs;
    const problems: InputProblem[] = [];
    const inputs = parseBuildInputs(
      { ...raw, repository: 'team/app', tags: '1', context: dir, dockerfile: path.join(dir, 'Dockerfile') },
      ctx,
      'r.example',
      problems,
    );
    return { inputs, problems };
  }

  it('rejects a cache tag that leaves no room for the branch and platform parts, naming cacheRef', () => {
    const tag = 't'.repeat(100);
    const { problems } = parse(
      { cache: 'branch', cacheRef: `cache/app:${tag}`, platforms: 'linux/arm64/v8' },
      { 'Build.SourceBranch': 'refs/heads/feature-x' },
    );
    assert.deepEqual(
      problems.map((p) => [p.input, p.message]),
      [
        [
          'cacheRef',
          `The cache tag '${tag}' has 100 characters; with branch scoping it may have at most 88, to leave room for the branch and platform parts of the tag.`,
        ],
      ],
    );
  });

  it('keeps an explicit cacheRef exact with cache: registry, whatever the branch', () => {
    const { inputs, problems } = parse(
      { cache: 'registry', cacheRef: 'cache/app:bc' },
      { 'Build.SourceBranch': 'refs/heads/feature-x' },
    );
    assert.deepEqual(problems, []);
    assert.ok(inputs.cache.kind === 'registry');
    assert.deepEqual(
      [inputs.cache.imports, inputs.cache.export],
      [['r.example/cache/app:bc'], 'r.example/cache/app:bc'],
    );
  });
});
