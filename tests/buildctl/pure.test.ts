import * as assert from 'node:assert/strict';
import { FailureTracker } from '../../tasks/BuildKitBuild/src/buildctl/errors';
import { parseBuildMetadata } from '../../tasks/BuildKitBuild/src/buildctl/metadata';
import { isDockerfileStep, ProgressTracker } from '../../tasks/BuildKitBuild/src/buildctl/progress';
import { code, formatDuration, renderSummary } from '../../tasks/BuildKitBuild/src/buildctl/summary';
import { displayCommand } from '../../tasks/BuildKitBuild/src/buildctl/build';
import { localizer } from '../support/fakeContext';

const failingLog = [
  '#5 [1/3] FROM docker.io/library/alpine:3.20',
  '#5 CACHED',
  '',
  '#6 [2/3] RUN make',
  '#6 0.512 compiling...',
  '#6 ERROR: process "/bin/sh -c make" did not complete successfully: exit code: 2',
  '------',
  ' > [2/3] RUN make:',
  '------',
  'Dockerfile:2',
  '--------------------',
  '   2 | >>> RUN make',
  '--------------------',
  'error: failed to solve: process "/bin/sh -c make" did not complete successfully: exit code: 2',
];

function explain(lines: string[]) {
  const progress = new ProgressTracker();
  const failures = new FailureTracker();
  for (const line of lines) failures.observe(line, progress.observe(line), (v) => progress.vertexName(v));
  return {
    failure: failures.failure(),
    stats: progress.stats(),
    cacheErrors: progress.cacheExportFailures(),
  };
}

describe('the failure explanation (last meaningful error line)', () => {
  it('names the failing Dockerfile step and its line', () => {
    assert.deepEqual(explain(failingLog).failure, {
      message: '[2/3] RUN make: process "/bin/sh -c make" did not complete successfully: exit code: 2',
      location: { file: 'Dockerfile', line: 2 },
    });
  });

  it('prefers buildctl’s final error when an earlier step error was not the cause', () => {
    const log = [
      '#9 exporting cache to registry',
      '#9 ERROR: failed to push r/c:b: 403 Forbidden',
      'error: failed to solve: failed to compute cache key: "/missing" not found',
    ];
    assert.deepEqual(explain(log).failure, { message: 'failed to compute cache key: "/missing" not found' });
  });

  it('reports a Go panic, else the last non-empty line', () => {
    assert.equal(
      explain(['#1 x', 'panic: runtime error: nil map', 'goroutine 1 [running]:']).failure?.message,
      'panic: runtime error: nil map',
    );
    assert.equal(explain(['something odd', '']).failure?.message, 'something odd');
    assert.equal(explain([]).failure, undefined);
  });
});

describe('the progress tracker', () => {
  it('counts Dockerfile steps and the cached ones, and cache export errors', () => {
    const { stats, cacheErrors } = explain([
      '#1 [internal] load build definition from Dockerfile',
      '#1 transferring dockerfile: 32B done',
      '#4 [builder 1/3] FROM alpine',
      '#4 CACHED',
      '#5 [builder 2/3] COPY . .',
      '#5 CACHED',
      '#6 [linux/arm64 builder 3/3] RUN make',
      '#6 0.5 [1/2] not a vertex name',
      '#6 [linux/arm64 builder 3/3] RUN make',
      '#7 exporting cache to registry',
      '#7 ERROR: failed to push r/c:b: 403 Forbidden',
    ]);
    assert.deepEqual(stats, { steps: 3, cached: 2 });
    assert.deepEqual(cacheErrors, ['failed to push r/c:b: 403 Forbidden']);
  });

  it('recognises step names', () => {
    assert.equal(isDockerfileStep('[2/3] RUN make'), true);
    assert.equal(isDockerfileStep('[stage-1 10/12] COPY a b'), true);
    assert.equal(isDockerfileStep('[internal] load metadata'), false);
    assert.equal(isDockerfileStep('exporting to image'), false);
  });
});

describe('the build metadata', () => {
  const digest = `sha256:${'1'.repeat(64)}`;
  it('reads the digest and names as buildctl writes them', () => {
    const text = JSON.stringify({
      'containerimage.config.digest': `sha256:${'2'.repeat(64)}`,
      'containerimage.descriptor': {
        mediaType: 'application/vnd.oci.image.index.v1+json',
        digest,
        size: 856,
      },
      'containerimage.digest': digest,
      'image.name': 'r.example/team/app:1,r.example/team/app:latest',
    });
    assert.deepEqual(parseBuildMetadata(text), {
      digest,
      imageNames: ['r.example/team/app:1', 'r.example/team/app:latest'],
    });
  });

  it('falls back to the descriptor digest, ignores a malformed digest, accepts an empty object', () => {
    assert.equal(
      parseBuildMetadata(JSON.stringify({ 'containerimage.descriptor': { digest } })).digest,
      digest,
    );
    assert.equal(parseBuildMetadata('{"containerimage.digest":"sha256:zz"}').digest, undefined);
    assert.deepEqual(parseBuildMetadata('{}'), { digest: undefined, imageNames: [] });
    assert.throws(() => parseBuildMetadata('[1]'));
    assert.throws(() => parseBuildMetadata('{'));
  });
});

describe('the build summary', () => {
  const loc = localizer();
  const base = {
    succeeded: true,
    refs: ['r.example/team/app:1', 'r.example/team/app:latest'],
    push: {
      requested: true,
      pushed: ['r.example/team/app:1', 'r.example/team/app:latest'],
      failed: undefined,
      notPushed: [],
      digest: `sha256:${'a'.repeat(64)}`,
      local: false,
    },
    pinned: `r.example/team/app@sha256:${'a'.repeat(64)}`,
    platforms: ['linux/amd64', 'linux/arm64'],
    daemon: 'tcp://buildkitd:1234',
    durationMs: 65_000,
    steps: 3,
    cached: 1,
    failure: undefined,
  };

  it('shows refs, digest, platforms, daemon, duration and steps, with a pinned reference', () => {
    const markdown = renderSummary(base, loc);
    assert.match(markdown, /^### BuildKit build succeeded$/m);
    assert.match(
      markdown,
      /\| Images \| `r\.example\/team\/app:1` pushed<br>`r\.example\/team\/app:latest` pushed \|/,
    );
    assert.match(markdown, /\| Pushed \| yes \|/);
    assert.match(markdown, /\| Digest \| `sha256:a{64}` \|/);
    assert.match(markdown, /\| Platforms \| `linux\/amd64`, `linux\/arm64` \|/);
    assert.match(markdown, /\| Daemon \| `tcp:\/\/buildkitd:1234` \|/);
    assert.match(markdown, /\| Duration \| 1m 05s \|/);
    assert.match(markdown, /\| Steps \| 3 Dockerfile steps, 1 cached \|/);
    assert.match(markdown, /^r\.example\/team\/app@sha256:a{64}$/m);
  });

  it('shows a failure, and escapes what could break the table', () => {
    const markdown = renderSummary(
      {
        ...base,
        succeeded: false,
        push: { ...base.push, pushed: [], notPushed: base.refs, digest: undefined },
        pinned: undefined,
        platforms: [],
        failure: 'a | b `c`',
      },
      loc,
    );
    assert.match(markdown, /^### BuildKit build failed$/m);
    assert.match(markdown, /\| Platforms \| the daemon's default \|/);
    assert.match(markdown, /\| Pushed \| no \|/);
    assert.match(markdown, /^Failure:\n\n```\na \| b `c`\n```$/m);
    assert.doesNotMatch(markdown, /@sha256/);
  });

  it('formats durations and inline code', () => {
    assert.deepEqual(
      [formatDuration(400), formatDuration(59_940), formatDuration(3_725_000)],
      ['0.4s', '59.9s', '1h 02m 05s'],
    );
    assert.equal(code('x|y'), '`x\\|y`');
  });
});

describe('argv helpers', () => {
  it('quotes the command line for the log', () => {
    assert.equal(
      displayCommand('/bin/buildctl', ['build', '--opt', 'label:a=b c', "it's"]),
      `/bin/buildctl build --opt 'label:a=b c' 'it'\\''s'`,
    );
  });
});
