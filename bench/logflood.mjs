// Log flood: the fake buildctl prints N MB of timestamped plain-progress lines during a build; the
// bundled task must forward them line by line with bounded memory. Measures the task's peak RSS
// (VmHWM sampled from /proc), throughput, and the delay from a line written by buildctl (it embeds
// the time it wrote it) to the same line read from the task's stdout. Targets: RSS < 100 MB whatever
// the log size; each line within 50 ms.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fmt, scratch, summarise } from './lib.mjs';

const now = () => performance.timeOrigin + performance.now();

/** A fake buildkitd (tests/support/fakeDaemon.ts protocol): one greeting line per connection. */
async function startDaemon() {
  const sockets = new Set();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.write('{"fakeBuildkitd":1,"workers":[{"id":"w1","platforms":["linux/amd64"]}],"tls":null}\n');
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    address: `tcp://127.0.0.1:${server.address().port}`,
    close: () => {
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  };
}

/** The environment the agent gives the task: every input with task.json's defaults, and a registry. */
function agentEnv(root, dir, daemon, floodMb) {
  const task = JSON.parse(readFileSync(join(root, 'tasks', 'BuildKitBuild', 'task.json'), 'utf8'));
  const inputs = {
    containerRegistry: 'reg',
    repository: 'team/app',
    buildkitAddress: daemon,
    cache: 'none',
    addPipelineMetadata: 'false',
  };
  const env = {
    PATH: `${join(root, 'tests', 'fixtures', 'fake-buildctl')}:${process.env.PATH}`,
    HOME: process.env.HOME,
    AGENT_TEMPDIRECTORY: dir,
    SYSTEM_DEFAULTWORKINGDIRECTORY: dir,
    BUILD_BUILDID: '1',
    ENDPOINT_URL_REG: 'https://r.example',
    ENDPOINT_AUTH_REG: JSON.stringify({
      scheme: 'UsernamePassword',
      parameters: { registry: 'https://r.example', username: 'u', password: 'p' },
    }),
    ENDPOINT_AUTH_SCHEME_REG: 'UsernamePassword',
    ENDPOINT_AUTH_PARAMETER_REG_REGISTRY: 'https://r.example',
    ENDPOINT_AUTH_PARAMETER_REG_USERNAME: 'u',
    ENDPOINT_AUTH_PARAMETER_REG_PASSWORD: 'p',
    FAKE_BUILDCTL_FLOOD_MB: String(floodMb),
  };
  for (const input of task.inputs) {
    const value = inputs[input.name] ?? (input.defaultValue ?? '').replace('$(Build.BuildId)', '1');
    env[`INPUT_${input.name.toUpperCase()}`] = value;
  }
  return env;
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

async function floodOnce(root, floodMb) {
  const dir = scratch('logflood');
  writeFileSync(join(dir, 'Dockerfile'), 'FROM alpine:3.20\nRUN make\n');
  const daemon = await startDaemon();
  const entry = join(root, process.env.BKB_DIST ?? 'dist', 'tasks', 'BuildKitBuild', 'index.js');
  const child = spawn(process.execPath, [entry], {
    cwd: dir,
    env: agentEnv(root, dir, daemon.address, floodMb),
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
  daemon.close();
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

export async function logFloodBenchmark(root, runs = 3) {
  const rows = [];
  for (const mb of [10, 200]) {
    const results = [];
    for (let i = 0; i < runs; i++) results.push(await floodOnce(root, mb));
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
  const root = join(import.meta.dirname, '..');
  for (const [what, figure] of await logFloodBenchmark(root)) console.log(`| ${what} | ${figure} |`);
}
