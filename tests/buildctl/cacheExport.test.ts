import * as assert from 'node:assert/strict';
import { runBuild } from '../../tasks/BuildKitBuild/src/buildctl/build';
import { isCacheExportVertex, ProgressTracker } from '../../tasks/BuildKitBuild/src/buildctl/progress';
import { NO_TLS } from '../../tasks/BuildKitBuild/src/daemon/flags';
import type { Buildctl } from '../../tasks/BuildKitBuild/src/tool/install';
import { fakeBuildctlDir, fakeBuildctlEnv, fakeBuildctlPath } from '../support/fakeBuildctl';
import { makeContext } from '../support/fakeContext';
import { startFakeDaemon, tempDir, type FakeDaemon } from '../support/fakeDaemon';
import { buildInputsFor, writeBuildContext } from '../support/buildInputs';

/**
 * The names BuildKit gives cache export vertices, read from cache/remotecache/*'s Name() in v0.11 and
 * v0.12..v0.32 (solver/llbsolver runs each cache exporter in a vertex named after it).
 */
const CACHE_EXPORT_NAMES = [
  'exporting content cache', // v0.11 registry and local; generic exporter in every release
  'exporting cache to s3', // v0.11
  'exporting cache to azure blob store', // v0.11
  'exporting to GitHub cache', // v0.11
  'exporting cache to registry', // v0.12+
  'exporting cache to client directory', // v0.12+
  'exporting cache to Amazon S3', // v0.12+
  'exporting cache to Azure Blob Storage', // v0.12+
  'exporting to GitHub Actions Cache', // v0.12+
];

/** Image and artifact exporters (exporter/*) and other vertices: their errors fail the build. */
const OTHER_NAMES = [
  'exporting to image',
  'exporting to client directory',
  'exporting to client tarball',
  'exporting to oci image format',
  'exporting to docker image format',
  'preparing layers for inline cache',
  '[2/3] RUN make',
];

describe('cache export vertices across BuildKit releases', () => {
  it('recognises every cache exporter name and no image exporter', () => {
    for (const name of CACHE_EXPORT_NAMES) assert.equal(isCacheExportVertex(name), true, name);
    for (const name of OTHER_NAMES) assert.equal(isCacheExportVertex(name), false, name);
  });

  it('collects the error of each cache export vertex, whatever its name', () => {
    const progress = new ProgressTracker();
    CACHE_EXPORT_NAMES.forEach((name, i) => {
      progress.observe(`#${i + 10} ${name}`);
      progress.observe(`#${i + 10} ERROR: failed ${i}`);
    });
    progress.observe('#30 exporting to image');
    progress.observe('#30 ERROR: not a cache');
    assert.deepEqual(
      progress.cacheExportFailures(),
      CACHE_EXPORT_NAMES.map((_, i) => `failed ${i}`),
    );
  });

  describe('a build whose registry cache export fails', () => {
    let daemon: FakeDaemon;
    beforeEach(async () => {
      daemon = await startFakeDaemon();
    });
    afterEach(() => daemon.close());

    for (const [version, vertex] of [
      ['0.11.6', 'exporting content cache'],
      ['0.32.2', 'exporting cache to registry'],
    ] as const) {
      it(`warns with buildctl ${version} (vertex "${vertex}")`, async () => {
        const dir = tempDir();
        const records = tempDir();
        writeBuildContext(dir);
        const buildctl: Buildctl = { path: fakeBuildctlPath, version, binDir: fakeBuildctlDir };
        const ctx = makeContext({
          env: {
            PATH: process.env.PATH ?? '',
            ...fakeBuildctlEnv(records, { cacheExportFail: true, version }),
          },
          variables: { 'Agent.TempDirectory': dir },
        });
        await runBuild(
          buildInputsFor(dir),
          {
            buildctl,
            daemon: { address: daemon.address, tls: NO_TLS, dispose: () => Promise.resolve() },
            dockerConfigDir: undefined,
          },
          ctx,
          new AbortController().signal,
          { now: () => 1000, killGraceMs: 3000, outputFull: () => undefined },
        );
        assert.match(ctx.recorded.infos.join('\n'), new RegExp(`^#\\d+ ${vertex}$`, 'm'));
        assert.equal(ctx.recorded.warnings.length, 1);
        assert.match(
          ctx.recorded.warnings[0] ?? '',
          /^The build succeeded but exporting the build cache failed: failed to push r\.example\/team\/app:buildcache/,
        );
      });
    }
  });
});
