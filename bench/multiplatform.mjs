// Native multi-platform builds: the bundled task splitting linux/amd64 + linux/arm64 across two fake
// daemons of those platforms (each build's `RUN make` lasting STEP_MS), against the same two platforms
// built one after the other on one daemon (two runs of the task, one platform each, as two pipeline
// steps would). Also the merge itself: reading both platforms' manifests and configs back from a
// loopback registry with token auth, building the index and PUTting it under two tags.
// Targets (issue 12): split ≤ 0.6 × sequential; merge < 300 ms on loopback.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { bundledTask, fmt, repeat, scratch, summarise, testSupport } from './lib.mjs';

const STEP_MS = 1500;
const PASSWORD = 'bench-pa55';

function writeContext(dir) {
  writeFileSync(join(dir, 'Dockerfile'), 'FROM alpine:3.20\nRUN make\nCOPY entrypoint.sh /usr/local/bin/\n');
  writeFileSync(join(dir, 'entrypoint.sh'), '#!/bin/sh\n');
}

async function timedTask(options) {
  const { runTask } = testSupport('support/agent.js');
  const started = performance.now();
  const run = await runTask(options);
  const ms = performance.now() - started;
  if (run.result !== 'Succeeded') throw new Error(`bench run failed: ${run.resultMessage}\n${run.stdout}`);
  return ms;
}

export async function multiplatformBenchmark(runs = 5) {
  const { startFakeDaemon } = testSupport('support/fakeDaemon.js');
  const { createTestPki } = testSupport('support/servers/pki.js');
  const { startRegistry, storeContent } = testSupport('support/servers/registry.js');
  const { fakeBuildctlDir } = testSupport('support/fakeBuildctl.js');
  const pki = createTestPki();
  const store = scratch('registry');
  const registry = await startRegistry(pki, {
    storeDir: store,
    users: { [`builder:${PASSWORD}`]: { 'team/app': ['pull', 'push'] } },
  });
  const amd = await startFakeDaemon({
    workers: [{ id: 'amd', platforms: ['linux/amd64'] }],
    behaviour: { slowMs: STEP_MS },
  });
  const arm = await startFakeDaemon({
    workers: [{ id: 'arm', platforms: ['linux/arm64'] }],
    behaviour: { slowMs: STEP_MS },
  });
  const options = (platforms, buildkitAddress) => {
    const dir = scratch('mp');
    writeContext(dir);
    return {
      entry: bundledTask,
      cwd: dir,
      pathPrepend: [fakeBuildctlDir],
      inputs: {
        containerRegistry: 'reg',
        repository: 'team/app',
        tags: '1\nlatest',
        platforms,
        buildkitAddress,
      },
      endpoints: {
        reg: {
          url: registry.origin,
          scheme: 'UsernamePassword',
          parameters: { registry: registry.origin, username: 'builder', password: PASSWORD },
        },
      },
      env: { NODE_EXTRA_CA_CERTS: pki.caFile, FAKE_BUILDCTL_REGISTRY_DIR: store },
      timeoutMs: 120_000,
    };
  };
  try {
    const split = summarise(
      await repeat(runs, () =>
        timedTask(options('linux/amd64,linux/arm64', `${amd.address}\n${arm.address}`)),
      ),
    );
    const sequential = summarise(
      await repeat(runs, async () => {
        const first = await timedTask(options('linux/amd64', amd.address));
        return first + (await timedTask(options('linux/arm64', amd.address)));
      }),
    );

    // The merge alone, in process: two platforms pushed as a fake BuildKit would, read back and merged.
    const { publishIndex } = testSupport('../tasks/BuildKitBuild/src/platforms/publishIndex.js');
    const { makeContext } = testSupport('support/fakeContext.js');
    const roots = ['linux/amd64', 'linux/arm64'].map((platform) => {
      const [os, architecture] = platform.split('/');
      const config = JSON.stringify({ architecture, os, rootfs: { type: 'layers', diff_ids: [] } });
      const configDigest = storeContent(store, 'blob', config);
      const manifest = JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: {
          mediaType: 'application/vnd.oci.image.config.v1+json',
          digest: configDigest,
          size: config.length,
        },
        layers: [],
      });
      return { platform, digest: storeContent(store, 'manifest', manifest) };
    });
    const configDir = scratch('docker-config');
    const auth = Buffer.from(`builder:${PASSWORD}`).toString('base64');
    writeFileSync(join(configDir, 'config.json'), JSON.stringify({ auths: { [registry.host]: { auth } } }));
    const merge = summarise(
      await repeat(15, async () => {
        const started = performance.now();
        await publishIndex(
          {
            imageName: `${registry.host}/team/app`,
            tags: ['1', 'latest'],
            roots,
            dockerConfigDir: configDir,
            clientOptions: { tlsCa: readFileSync(pki.caFile, 'utf8') },
          },
          makeContext(),
          new globalThis.AbortController().signal,
        );
        return performance.now() - started;
      }),
    );
    return [
      [
        `split: linux/amd64 ∥ linux/arm64 on two daemons (each build ${STEP_MS} ms), task start → index tagged`,
        fmt(split, 0, ' ms'),
      ],
      [
        'sequential: the same two platforms one after the other on one daemon (two task runs)',
        fmt(sequential, 0, ' ms'),
      ],
      ['split / sequential (target ≤ 0.6)', (split.median / sequential.median).toFixed(2)],
      [
        'merge: read 2 manifests + 2 configs, build the index, PUT 2 tags, token flow included (target < 300 ms)',
        fmt(merge, 1, ' ms'),
      ],
    ];
  } finally {
    await amd.close();
    await arm.close();
    await registry.close();
    pki.remove();
  }
}

// `node bench/multiplatform.mjs` alone prints its rows.
if (import.meta.url === `file://${process.argv[1]}`) {
  for (const row of await multiplatformBenchmark()) console.log(row.join(': '));
}
