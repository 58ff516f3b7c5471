import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildctlBuildArgs } from '../../tasks/BuildKitBuild/src/buildctl/args';
import { runBuild, type BuildDeps } from '../../tasks/BuildKitBuild/src/buildctl/build';
import { BuildFailedError } from '../../tasks/BuildKitBuild/src/buildctl/errors';
import { NO_TLS } from '../../tasks/BuildKitBuild/src/daemon/flags';
import { CancelledError } from '../../tasks/BuildKitBuild/src/core/cancellation';
import type { Buildctl } from '../../tasks/BuildKitBuild/src/tool/install';
import {
  fakeBuildctlDir,
  fakeBuildctlEnv,
  fakeBuildctlPath,
  flagValue,
  readInvocations,
} from '../support/fakeBuildctl';
import { makeContext } from '../support/fakeContext';
import { startFakeDaemon, tempDir, type FakeDaemon } from '../support/fakeDaemon';
import { buildInputsFor, writeBuildContext } from '../support/buildInputs';
import { waitFor } from '../support/waitFor';

const buildctl: Buildctl = { path: fakeBuildctlPath, version: '0.32.2', binDir: fakeBuildctlDir };
const PATH = process.env.PATH ?? '';

describe('runBuild', () => {
  let daemon: FakeDaemon;
  let dir: string;
  let records: string;
  beforeEach(async () => {
    daemon = await startFakeDaemon();
    dir = tempDir();
    records = tempDir();
    writeBuildContext(dir);
  });
  afterEach(() => daemon.close());

  const deps: BuildDeps = {
    now: () => 1000,
    killGraceMs: 3000,
    outputFull: () => undefined,
  };
  const environment = (dockerConfigDir?: string) => ({
    buildctl,
    daemon: { address: daemon.address, tls: NO_TLS, dispose: () => Promise.resolve() },
    dockerConfigDir,
  });

  it('runs buildctl with the argv and DOCKER_CONFIG, streams the log, sets outputs, uploads a summary', async () => {
    const dockerConfig = tempDir();
    fs.writeFileSync(path.join(dockerConfig, 'config.json'), '{"auths":{}}');
    const digest = `sha256:${'b'.repeat(64)}`;
    const ctx = makeContext({
      env: { PATH, ...fakeBuildctlEnv(records, { digest }) },
      variables: { 'Agent.TempDirectory': dir },
    });
    const inputs = buildInputsFor(dir, { tags: '1\nlatest', platforms: 'linux/amd64,linux/arm64' });
    await runBuild(inputs, environment(dockerConfig), ctx, new AbortController().signal, deps);

    const [invocation] = readInvocations(records);
    assert.ok(invocation);
    const metadataFile = flagValue(invocation.argv, '--metadata-file') ?? '';
    assert.deepEqual(
      invocation.argv,
      buildctlBuildArgs(inputs, { address: daemon.address, tls: NO_TLS }, metadataFile, new Date(0)).map(
        (a, i) => (a.startsWith('label:org.opencontainers.image.created=') ? (invocation.argv[i] ?? '') : a),
      ),
    );
    assert.equal(invocation.env.DOCKER_CONFIG, dockerConfig);
    assert.deepEqual(invocation.dockerConfig, { auths: {} });
    assert.equal(fs.existsSync(path.dirname(metadataFile)), false, 'the private work directory is removed');
    assert.deepEqual(ctx.recorded.outputs, [
      { name: 'buildkitAddress', value: daemon.address },
      { name: 'imageDigest', value: digest },
      { name: 'imageRefWithDigest', value: `r.example/team/app@${digest}` },
      { name: 'imageRefs', value: 'r.example/team/app:1,r.example/team/app:latest' },
    ]);
    const log = ctx.recorded.lines.join('\n');
    assert.match(
      log,
      /^##\[group\]buildctl build on tcp:\/\/127\.0\.0\.1:\d+\n\[command\]\S+buildctl --addr /m,
    );
    assert.match(log, /^#6 \[2\/3\] RUN make$/m);
    assert.match(log, /^##\[endgroup\]$/m);
    const [summary] = ctx.recorded.summaries;
    assert.ok(summary);
    assert.equal(path.dirname(summary.path), dir);
    assert.match(summary.content, /\| Steps \| 3 Dockerfile steps, 1 cached \|/);
    assert.match(summary.content, /\| Platforms \| `linux\/amd64`, `linux\/arm64` \|/);
    assert.match(summary.content, new RegExp(`\\| Digest \\| \`${digest}\` \\|`));
    assert.equal(summary.title, 'BuildKit build');
    assert.deepEqual(ctx.recorded.issues, []);
  });

  it('does not set DOCKER_CONFIG when none is given', async () => {
    const ctx = makeContext({
      env: { PATH, ...fakeBuildctlEnv(records) },
      variables: { 'Agent.TempDirectory': dir },
    });
    await runBuild(buildInputsFor(dir), environment(), ctx, new AbortController().signal, deps);
    assert.equal(readInvocations(records)[0]?.env.DOCKER_CONFIG, undefined);
  });

  it('fails with the failing step at the Dockerfile line (reported once, by the caller), and still uploads a summary', async () => {
    const ctx = makeContext({
      env: { PATH, ...fakeBuildctlEnv(records, { failStep: 2 }) },
      variables: { 'Agent.TempDirectory': dir },
    });
    const inputs = buildInputsFor(dir);
    await assert.rejects(
      runBuild(inputs, environment(), ctx, new AbortController().signal, deps),
      (error: Error) => {
        assert.ok(error instanceof BuildFailedError);
        assert.equal(
          error.message,
          'The build failed: [2/3] RUN make: process "/bin/sh -c make" did not complete successfully: exit code: 2' +
            ' Nothing reached the registry: r.example/team/app:42 not pushed.',
        );
        assert.deepEqual(error.location, { file: inputs.dockerfile, line: 2 });
        return true;
      },
    );
    assert.deepEqual(ctx.recorded.issues, [], 'no issue of its own: the result is the one report');
    assert.match(ctx.recorded.summaries[0]?.content ?? '', /^### BuildKit build failed$/m);
    assert.match(ctx.recorded.summaries[0]?.content ?? '', /^\| Pushed \| no \|$/m);
    assert.deepEqual(
      ctx.recorded.outputs.map((o) => o.name),
      ['buildkitAddress'],
    );
  });

  it('explains a crash', async () => {
    const ctx = makeContext({
      env: { PATH, ...fakeBuildctlEnv(records, { crash: true }) },
      variables: { 'Agent.TempDirectory': dir },
    });
    await assert.rejects(
      runBuild(buildInputsFor(dir), environment(), ctx, new AbortController().signal, deps),
      /The build failed: panic: runtime error/,
    );
  });

  it('warns when the cache export fails but the build succeeded', async () => {
    const ctx = makeContext({
      env: { PATH, ...fakeBuildctlEnv(records, { cacheExportFail: true }) },
      variables: { 'Agent.TempDirectory': dir },
    });
    await runBuild(buildInputsFor(dir), environment(), ctx, new AbortController().signal, deps);
    assert.equal(ctx.recorded.warnings.length, 1);
    assert.match(
      ctx.recorded.warnings[0] ?? '',
      /^The build succeeded but exporting the build cache failed: failed to push r\.example\/team\/app:buildcache/,
    );
    assert.ok(ctx.recorded.outputs.some((o) => o.name === 'imageDigest'));
  });

  it('on cancellation forwards the signal to buildctl, then throws CancelledError', async () => {
    const ctx = makeContext({
      env: { PATH, ...fakeBuildctlEnv(records, { slowMs: 60_000 }) },
      variables: { 'Agent.TempDirectory': dir },
    });
    const controller = new AbortController();
    const running = runBuild(buildInputsFor(dir), environment(), ctx, controller.signal, deps);
    // The log streams while buildctl runs: wait for the slow step's first line, then cancel.
    await waitFor("the slow step's first line in the log", () =>
      ctx.recorded.infos.some((l) => l.includes('#6 [2/3] RUN make')),
    );
    controller.abort('SIGTERM');
    await assert.rejects(running, CancelledError);
    const [invocation] = readInvocations(records);
    assert.equal(invocation?.signal, 'SIGTERM');
    assert.equal(invocation.exitCode, 143);
    assert.deepEqual(ctx.recorded.summaries, []);
  });

  it('stops reading from buildctl while the output is full, then forwards every line', async () => {
    const blocked = path.join(tempDir(), 'flood-blocked');
    const ctx = makeContext({
      env: { PATH, ...fakeBuildctlEnv(records, { floodMb: 4, floodBlockedFile: blocked }) },
      variables: { 'Agent.TempDirectory': dir },
    });
    const seqs = (): number[] =>
      ctx.recorded.infos.flatMap((chunk) => [...chunk.matchAll(/ flood (\d+) /g)].map((m) => Number(m[1])));
    let release: () => void = () => undefined;
    const full = new Promise<void>((resolve) => (release = resolve));
    let pausedAt: number | undefined;
    let released = false;
    let readWhilePaused = 0;
    const running = runBuild(buildInputsFor(dir), environment(), ctx, new AbortController().signal, {
      ...deps,
      // Called after each batch of lines: the first time the output is full, until the test releases it.
      outputFull: () => {
        if (pausedAt === undefined) {
          pausedAt = Math.max(-1, ...seqs());
          return full;
        }
        if (!released) readWhilePaused++;
        return undefined;
      },
    });
    // buildctl found its pipe full after writing lines the task had not read when it paused: the pipe
    // is full because the task stopped reading.
    const blockedBeyondPause = () =>
      pausedAt !== undefined &&
      fs.existsSync(blocked) &&
      fs
        .readFileSync(blocked, 'utf8')
        .split('\n')
        .some((line) => line !== '' && Number(line) > (pausedAt ?? 0));
    await waitFor('buildctl to block on its full stderr after the task paused reading', blockedBeyondPause);
    const whilePaused = seqs().length;
    released = true;
    release();
    await running;
    assert.equal(readWhilePaused, 0, 'no lines read while the output was full');
    assert.equal(whilePaused, (pausedAt ?? 0) + 1, 'nothing forwarded after the pause');
    const all = seqs();
    assert.ok(all.length > 30_000, `all flood lines forwarded: ${all.length}`);
    assert.deepEqual(
      all,
      all.map((_, i) => i),
      'every line forwarded once, in order',
    );
  });
});
