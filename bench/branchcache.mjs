// The branch-scoped registry cache: a pull request's first build on an empty daemon, after the default
// branch was built, against a cold build of the same pull request. Runs the packaged task with the fake
// buildctl's cache model (FAKE_BUILDCTL_CACHE_DIR: a loopback "registry" directory holding one cache
// manifest per ref; the daemon starts empty every build). The model's step costs stand for a typical
// service image, scaled down 1:10 so the benchmark runs in about a minute:
//   - FROM (pull the base image on an empty daemon): PULL_MS
//   - RUN make (dependencies and compilation, unchanged by the pull request): RUN_MS
//   - COPY of the changed source: its cached parents' layers are pulled from the registry cache, LAYER_MS each
// Target (issue 15): the pull request build takes at most 0.3 of the cold build, and the default branch's
// cache ref is byte-for-byte unchanged after it.
//
// `node bench/branchcache.mjs` (after `npm run package`) measures and rewrites this section of
// bench/RESULTS.md only; `npm run bench` includes it.
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { bundledTask, fmt, repeat, root, scratch, summarise, testSupport } from './lib.mjs';

const PULL_MS = 1500;
const RUN_MS = 6000;
const LAYER_MS = 300;
const RUNS = 3;

const MAIN = { 'Build.SourceBranch': 'refs/heads/main', 'Build.Reason': 'IndividualCI' };
const PULL_REQUEST = {
  'Build.SourceBranch': 'refs/pull/17/merge',
  'Build.Reason': 'PullRequest',
  'System.PullRequest.SourceBranch': 'refs/heads/fix-typo',
  'System.PullRequest.TargetBranch': 'refs/heads/main',
  'System.PullRequest.PullRequestId': '17',
  'System.PullRequest.IsFork': 'False',
};

async function build(context, cacheDir, daemon, variables) {
  const { runTask } = testSupport('support/agent.js');
  const { fakeBuildctlDir } = testSupport('support/fakeBuildctl.js');
  const started = process.hrtime.bigint();
  const run = await runTask({
    entry: bundledTask,
    cwd: context,
    pathPrepend: [fakeBuildctlDir],
    inputs: {
      containerRegistry: 'REG',
      repository: 'team/app',
      buildkitAddress: daemon.address,
      addPipelineMetadata: 'false',
      context,
    },
    endpoints: {
      REG: {
        url: 'https://r.example',
        scheme: 'UsernamePassword',
        parameters: { registry: 'https://r.example', username: 'u', password: 'p' },
      },
    },
    variables: { 'System.DefaultWorkingDirectory': context, ...variables },
    env: {
      FAKE_BUILDCTL_CACHE_DIR: cacheDir,
      FAKE_BUILDCTL_PULL_MS: String(PULL_MS),
      FAKE_BUILDCTL_SLOW_MS: String(RUN_MS),
      FAKE_BUILDCTL_LAYER_MS: String(LAYER_MS),
    },
  });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (run.result !== 'Succeeded') throw new Error(`build failed: ${run.resultMessage}\n${run.stdout}`);
  const cached = /^(\d+) of (\d+) Dockerfile steps came from the cache/m.exec(run.stdout);
  return { ms, cached: cached ? `${cached[1]}/${cached[2]}` : '0', stdout: run.stdout };
}

/** sha256 of the cache file that holds `ref`, or undefined. */
function cacheDigest(cacheDir, ref) {
  for (const file of readdirSync(cacheDir)) {
    const text = readFileSync(join(cacheDir, file));
    if (text.includes(`"ref": "${ref}"`)) return createHash('sha256').update(text).digest('hex');
  }
  return undefined;
}

function writeContext(dir, change) {
  writeFileSync(join(dir, 'Dockerfile'), 'FROM alpine:3.20\nRUN make\nCOPY entrypoint.sh /usr/local/bin/\n');
  writeFileSync(join(dir, 'entrypoint.sh'), `#!/bin/sh\n${change}\n`);
}

export async function branchCacheBenchmark() {
  const daemon = await testSupport('support/fakeDaemon.js').startFakeDaemon();
  const cold = [];
  const warm = [];
  const ratios = [];
  const facts = [];
  try {
    await repeat(RUNS, async () => {
      // Cold: the pull request on an empty daemon with an empty registry cache.
      const coldContext = scratch('branchcache-cold');
      writeContext(coldContext, 'echo pull request');
      const coldRun = await build(coldContext, scratch('branchcache-registry'), daemon, PULL_REQUEST);

      // The default branch builds first, then the pull request changes the source and builds.
      const registry = scratch('branchcache-registry');
      const context = scratch('branchcache');
      writeContext(context, 'echo main');
      await build(context, registry, daemon, MAIN);
      const before = cacheDigest(registry, 'r.example/team/app:buildcache');
      writeContext(context, 'echo pull request');
      const prRun = await build(context, registry, daemon, PULL_REQUEST);
      const after = cacheDigest(registry, 'r.example/team/app:buildcache');
      const own = cacheDigest(registry, 'r.example/team/app:buildcache-fix-typo');

      cold.push(coldRun.ms);
      warm.push(prRun.ms);
      ratios.push(prRun.ms / coldRun.ms);
      facts.push({
        unchanged: before !== undefined && before === after,
        ownWritten: own !== undefined,
        found: /^Cache import found: r\.example\/team\/app:buildcache$/m.test(prRun.stdout),
        cached: prRun.cached,
        coldCached: coldRun.cached,
      });
    });
  } finally {
    await daemon.close();
  }
  const all = (key) => facts.every((f) => f[key]);
  const ratio = summarise(ratios);
  return [
    [
      'model (scaled 1:10)',
      `base image pull ${PULL_MS} ms, \`RUN make\` ${RUN_MS} ms, ${LAYER_MS} ms per cached layer pulled; the daemon empty every build`,
    ],
    [
      'cold build of the pull request (empty registry cache)',
      `${fmt(summarise(cold), 0, ' ms')}, steps cached ${facts[0]?.coldCached}`,
    ],
    [
      'first pull request build after main was built (empty daemon)',
      `${fmt(summarise(warm), 0, ' ms')}, steps cached ${facts[0]?.cached}, main's \`buildcache\` found: ${all('found') ? 'yes' : 'no'}`,
    ],
    [
      'pull request / cold (target ≤ 0.3)',
      `${fmt(ratio, 2)}: ${ratio.max <= 0.3 ? 'met in every run' : 'NOT met in every run'}`,
    ],
    [
      "default branch's `buildcache` after the pull request build",
      all('unchanged') ? `byte-for-byte unchanged (sha256 compared) in ${RUNS} of ${RUNS} runs` : 'CHANGED',
    ],
    ['pull request wrote its own ref `buildcache-fix-typo`', all('ownWritten') ? 'yes' : 'no'],
  ];
}

const TITLE = 'Branch-scoped registry cache';

/** Replaces (or appends) this benchmark's section of bench/RESULTS.md. */
function writeSection(rows) {
  const file = join(root, 'bench', 'RESULTS.md');
  const text = readFileSync(file, 'utf8');
  const section = `## ${TITLE}\n\nMeasured ${new Date().toISOString().slice(0, 10)}, Node ${process.version}, by \`node bench/branchcache.mjs\`.\n\n| what | figure |\n|---|---|\n${rows.map(([w, f]) => `| ${w} | ${f} |`).join('\n')}\n`;
  const start = text.indexOf(`## ${TITLE}`);
  let next = start < 0 ? -1 : text.indexOf('\n## ', start + 1);
  if (next >= 0) next += 1;
  const updated =
    start < 0
      ? `${text.trimEnd()}\n\n${section}`
      : `${text.slice(0, start)}${section}${next < 0 ? '' : `\n${text.slice(next)}`}`;
  writeFileSync(file, updated);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const rows = await branchCacheBenchmark();
  writeSection(rows);
  for (const [what, figure] of rows) console.log(`${what}: ${figure}`);
}
