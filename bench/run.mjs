// npm run bench: measures the packaged extension and writes bench/RESULTS.md. Figures are medians of
// several runs with min and max; they are for reading, never pass/fail thresholds.
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startupBenchmark } from './startup.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const vsix = readdirSync(join(root, 'dist')).find((f) => /^buildkit-build-\d.*\.vsix$/.test(f));
const rows = [
  ['`.vsix` size (target < 1.5 MB)', `${(statSync(join(root, 'dist', vsix)).size / 1024).toFixed(0)} KiB`],
];
rows.push(...(await startupBenchmark(root)));

const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB`;
const table = rows.map(([what, figure]) => `| ${what} | ${figure} |`).join('\n');
const report = `# Benchmark results

Written by \`npm run bench\` on ${new Date().toISOString().slice(0, 10)}: ${machine}, Node ${process.version}.
Times are medians of repeated runs (min, max, n). The machines are shared: read trends, not single digits.

| what | figure |
|---|---|
${table}
`;
writeFileSync(join(root, 'bench', 'RESULTS.md'), report);
console.log(report);
