// Installing buildctl through the tool cache: cold (download from a loopback mirror, verify, extract,
// cache) and warm (tool cache hit), each timed around resolveBuildctl inside a fresh task process.
// Uses the tsc output in out/ (npm run bench builds it first) and the tests' release mirror.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { arch, platform } from 'node:os';
import { join } from 'node:path';
import { fmt, outDir, repeat, scratch, summarise, testSupport } from './lib.mjs';

const DRIVER = `
const { resolveBuildctl } = require(process.env.BENCH_INSTALL);
const { taskContext } = require(process.env.BENCH_CONTEXT);
const spec = { version: '0.32.2', sha256: undefined, downloadUrl: process.env.BENCH_MIRROR };
const started = process.hrtime.bigint();
resolveBuildctl(spec, taskContext(), new AbortController().signal).then(
  () => console.log('BENCH_MS ' + Number(process.hrtime.bigint() - started) / 1e6),
  (error) => { console.error(error); process.exit(1); },
);
`;

/** One install in a fresh process; resolves with the milliseconds resolveBuildctl took. */
function timeInstall(mirrorUrl, toolsDir) {
  const src = join(outDir, 'tasks', 'BuildKitBuild', 'src');
  const env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    AGENT_TOOLSDIRECTORY: toolsDir,
    AGENT_TEMPDIRECTORY: scratch('install-temp'),
    AGENT_VERSION: '4.266.2',
    BENCH_INSTALL: join(src, 'tool', 'install.js'),
    BENCH_CONTEXT: join(src, 'taskContext.js'),
    BENCH_MIRROR: mirrorUrl,
  };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', DRIVER], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk) => (out += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = /BENCH_MS ([\d.]+)/.exec(out)?.[1];
      if (code !== 0 || ms === undefined) reject(new Error(`install run failed (${code}):\n${out}`));
      else resolve(Number(ms));
    });
  });
}

export async function installBenchmark(runs = 7) {
  const { ReleaseMirror } = testSupport('support/mirror.js');
  const { releasePlatform } = createRequire(import.meta.url)(
    join(outDir, 'tasks', 'BuildKitBuild', 'src', 'tool', 'platform.js'),
  );
  const here = releasePlatform(platform(), arch());
  if (here === undefined || platform() === 'win32')
    return [['install buildctl', 'skipped: unsupported platform']];
  const mirror = await ReleaseMirror.start();
  try {
    const archive = mirror.publish('0.32.2', { os: here.os, arch: here.arch });
    const warmTools = scratch('install-warm');
    await timeInstall(mirror.url, warmTools);
    const cold = summarise(await repeat(runs, () => timeInstall(mirror.url, scratch('install-cold'))));
    const warm = summarise(await repeat(runs, () => timeInstall(mirror.url, warmTools)));
    const size = `${(archive.bytes.length / 1024).toFixed(1)} KiB test archive`;
    return [
      [`install buildctl cold (loopback mirror, ${size})`, fmt(cold, 1, ' ms')],
      ['install buildctl warm (tool cache hit)', fmt(warm, 1, ' ms')],
    ];
  } finally {
    await mirror.close();
  }
}
