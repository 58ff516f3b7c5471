// npm run bench: measures the packaged extension and writes bench/RESULTS.md. Figures are medians of
// several runs with min and max; they are for reading, never pass/fail thresholds.
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { credentialsBenchmark } from './credentials.mjs';
import { installBenchmark } from './install.mjs';
import { logFloodBenchmark } from './logflood.mjs';
import { startupBenchmark } from './startup.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const vsix = readdirSync(join(root, 'dist')).find((f) => /^buildkit-build-\d.*\.vsix$/.test(f));
const bundle = join(root, 'dist', 'tasks', 'BuildKitBuild', 'index.js');
const kib = (file) => `${(statSync(file).size / 1024).toFixed(0)} KiB`;

const sections = [
  [
    'Package',
    async () => [
      ['`.vsix` size (target < 1.5 MB)', kib(join(root, 'dist', vsix))],
      ['bundled task (`index.js`)', kib(bundle)],
    ],
  ],
  ['Start-up', () => startupBenchmark(root)],
  ['Task overhead with service-principal auth', () => credentialsBenchmark(root)],
  ['Installing buildctl', () => installBenchmark(root)],
  ['Log forwarding', () => logFloodBenchmark(root)],
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
log size; each log line forwarded within 50 ms; \`.vsix\` under 1.5 MB.

${parts.join('\n')}`;
writeFileSync(join(root, 'bench', 'RESULTS.md'), report);
console.log(report);
