// Log flood: the fake buildctl prints N MB of timestamped plain-progress lines during a build; the
// bundled task must forward them line by line with bounded memory. Measures the task's peak RSS
// (VmHWM sampled from /proc), throughput, and the delay from a line written by buildctl (it embeds
// the time it wrote it) to the same line read from the task's stdout. Targets: RSS < 100 MB whatever
// the log size; each line within 50 ms.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { bundledTask, fmt, scratch, summarise, testSupport } from './lib.mjs';

const now = () => performance.timeOrigin + performance.now();

/** The agent's environment for a build that floods its log (the tests' harness, a Docker Registry connection). */
function agentEnv(dir, daemonAddress, floodMb) {
  const { agentEnvironment } = testSupport('support/agent.js');
  const { fakeBuildctlDir } = testSupport('support/fakeBuildctl.js');
  return agentEnvironment(
    {
      entry: bundledTask,
      inputs: {
        containerRegistry: 'REG',
        repository: 'team/app',
        buildkitAddress: daemonAddress,
        cache: 'none',
        addPipelineMetadata: 'false',
        context: dir,
      },
      endpoints: {
        REG: {
          url: 'https://r.example',
          scheme: 'UsernamePassword',
          parameters: { registry: 'https://r.example', username: 'u', password: 'p' },
        },
      },
      env: { FAKE_BUILDCTL_FLOOD_MB: String(floodMb) },
      pathPrepend: [fakeBuildctlDir],
      cwd: dir,
    },
    dir,
  );
}

function peakRss(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))];

async function floodOnce(floodMb) {
  const dir = scratch('logflood');
  writeFileSync(join(dir, 'Dockerfile'), 'FROM alpine:3.20\nRUN make\n');
  const daemon = await testSupport('support/fakeDaemon.js').startFakeDaemon();
  const child = spawn(process.execPath, [bundledTask], {
    cwd: dir,
    env: agentEnv(dir, daemon.address, floodMb),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, peakRss(child.pid))), 50);
  const delays = [];
  let bytes = 0;
  let first = 0;
  let last = 0;
  let partial = '';
  let result = '';
  child.stdout.setEncoding('utf8').on('data', (chunk) => {
    const t = now();
    bytes += chunk.length;
    const lines = (partial + chunk).split('\n');
    partial = lines.pop();
    for (const line of lines) {
      const at = line.indexOf(' ts=');
      if (at > 0 && line.includes(' flood ')) {
        if (first === 0) first = t;
        last = t;
        delays.push(t - Number(line.slice(at + 4, line.indexOf(' ', at + 4))));
      } else if (line.startsWith('##vso[task.complete')) {
        result = line;
      }
    }
  });
  await new Promise((resolve) => child.on('close', resolve));
  clearInterval(sampler);
  await daemon.close();
  if (result.includes('result=Failed')) throw new Error(`the task failed: ${result}`);
  delays.sort((a, b) => a - b);
  const seconds = (last - first) / 1000;
  return {
    peakMb: peak / 2 ** 20,
    mbPerSecond: bytes / 2 ** 20 / Math.max(seconds, 0.001),
    lines: delays.length,
    p50: percentile(delays, 50),
    p99: percentile(delays, 99),
    max: delays.at(-1) ?? NaN,
  };
}

export async function logFloodBenchmark(runs = 3) {
  const rows = [];
  for (const mb of [10, 200]) {
    const results = [];
    for (let i = 0; i < runs; i++) results.push(await floodOnce(mb));
    const of = (pick) => summarise(results.map(pick));
    rows.push(
      [
        `log flood ${mb} MB: task peak RSS (target < 100 MB)`,
        fmt(
          of((r) => r.peakMb),
          1,
          ' MB',
        ),
      ],
      [
        `log flood ${mb} MB: throughput through the task`,
        `${fmt(
          of((r) => r.mbPerSecond),
          0,
          ' MB/s',
        )}, ${results[0]?.lines ?? 0} lines`,
      ],
      [
        `log flood ${mb} MB: median line delay buildctl → task stdout`,
        fmt(
          of((r) => r.p50),
          1,
          ' ms',
        ),
      ],
      [
        `log flood ${mb} MB: p99 line delay (target < 50 ms)`,
        fmt(
          of((r) => r.p99),
          1,
          ' ms',
        ),
      ],
      [
        `log flood ${mb} MB: worst line delay`,
        fmt(
          of((r) => r.max),
          1,
          ' ms',
        ),
      ],
    );
  }
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const [what, figure] of await logFloodBenchmark()) console.log(`| ${what} | ${figure} |`);
}
