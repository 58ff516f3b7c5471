// Task start to result on the missing-input path: the bundled task from dist/ against the unbundled
// tsc output, both as ratios to a bare `node -e 0` measured in the same run.
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundledTask, fmt, outDir, root, repeat, scratch, summarise, timeRun } from './lib.mjs';

export async function startupBenchmark(runs = 15) {
  const bundled = bundledTask;
  const unbundledDir = join(outDir, 'tasks', 'BuildKitBuild', 'src');
  copyFileSync(join(root, 'tasks', 'BuildKitBuild', 'task.json'), join(unbundledDir, 'task.json'));
  const unbundled = join(unbundledDir, 'main.js');
  const env = { AGENT_TEMPDIRECTORY: scratch('startup'), INPUT_REPOSITORY: '' };
  const bare = summarise(await repeat(runs, () => timeRun(process.execPath, ['-e', '0'])));
  const b = summarise(await repeat(runs, () => timeRun(process.execPath, [bundled], env)));
  const u = summarise(await repeat(runs, () => timeRun(process.execPath, [unbundled], env)));
  return [
    ['bare `node -e 0`', fmt(bare, 1, ' ms')],
    [
      'bundled task, start → result (missing input)',
      `${fmt(b, 1, ' ms')} = ${(b.median / bare.median).toFixed(2)}× bare node`,
    ],
    [
      'unbundled tsc output, same path',
      `${fmt(u, 1, ' ms')} = ${(u.median / bare.median).toFixed(2)}× bare node`,
    ],
  ];
}
