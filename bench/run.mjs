// npm run bench: measures the packaged extension and writes bench/RESULTS.md. Figures are medians of
// several runs with min and max; they are for reading, never pass/fail thresholds.
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { branchCacheBenchmark } from './branchcache.mjs';
import { credentialsBenchmark } from './credentials.mjs';
import { installBenchmark } from './install.mjs';
import { logFloodBenchmark } from './logflood.mjs';
import { multiplatformBenchmark } from './multiplatform.mjs';
import { bundledTask, distDir, root } from './lib.mjs';
import { startupBenchmark } from './startup.mjs';

const vsix = readdirSync(distDir).find((f) => /^buildkit-build-\d.*\.vsix$/.test(f));
const kib = (file) => `${(statSync(file).size / 1024).toFixed(0)} KiB`;

const sections = [
  [
    'Package',
    async () => [
      ['`.vsix` size (target < 1.5 MB)', kib(join(distDir, vsix))],
      ['bundled task (`index.js`)', kib(bundledTask)],
    ],
  ],
  ['Start-up', () => startupBenchmark()],
  ['Task overhead with service-principal auth', () => credentialsBenchmark()],
  ['Installing buildctl', () => installBenchmark()],
  ['Log forwarding', () => logFloodBenchmark()],
  ['Branch-scoped registry cache', () => branchCacheBenchmark()],
  ['Native multi-platform builds', () => multiplatformBenchmark()],
];

const parts = [];
for (const [title, measure] of sections) {
  console.log(`measuring: ${title}`);
  const rows = await measure();
  parts.push(
    `## ${title}\n\n| what | figure |\n|---|---|\n${rows.map(([w, f]) => `| ${w} | ${f} |`).join('\n')}\n`,
  );
}

const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB`;
const report = `# Benchmark results

Written by \`npm run bench\` on ${new Date().toISOString().slice(0, 10)}: ${machine}, Node ${process.version}.
Times are medians of repeated runs (min, max, n). The machines are shared: read trends, not single digits.
Targets (from the issues): task overhead at most 3× a bare \`node -e 0\`; peak RSS under 100 MB and flat in
log size; each log line forwarded within 50 ms; \`.vsix\` under 1.5 MB; a two-platform build split across two
daemons at most 0.6 of the same platforms built one after the other, and the merge under 300 ms.

${parts.join('\n')}
## Reading the overhead figure

The start-up floor of any task on these machines, before it does any work, is about 2.5–3× a bare
\`node -e 0\`: compiling the bundle (~35 ms for 0.7 MB), task-lib's own start (~25 ms: it reads and
re-encrypts every input and endpoint into its vault) and the input validation. With a service principal the
task then has to initialise @azure/identity and MSAL (~45 ms of synchronous module start, measured with
\`--cpu-prof\`), fetch the authority's OpenID configuration, get a token and exchange it, all on loopback
HTTPS here. The buildctl lookup and the daemon pre-flight run in parallel with that. So the service-principal
figure stays well above the 3× target; the bundle loads only the four credentials the task uses and keeps
Node's lazily loaded undici (~40 ms) out of the way, which is what could be cut without giving up task-lib
or @azure/identity. \`bench/instant-buildctl\` stands in for buildctl so that the figure is the task's own.
`;
writeFileSync(join(root, 'bench', 'RESULTS.md'), report);
console.log(report);
