// Task start → `buildctl build` start with service-principal auth: the bundled task gets an Entra ID
// token from a loopback authority and exchanges it at a loopback ACR (HTTPS with a throw-away CA), while
// it resolves buildctl and runs the daemon pre-flight. buildctl is bench/instant-buildctl, a shell
// stand-in that starts in about a millisecond like the real Go binary, so the figure is the task's own
// overhead. A ratio to a bare `node -e 0` of the same run (target: at most 3×). Needs the tsc output
// (out/) for the loopback servers and the bundle (dist/).
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { bundledTask, fmt, repeat, root, scratch, summarise, testSupport, timeRun } from './lib.mjs';

const now = () => performance.timeOrigin + performance.now();

/**
 * Runs a command to its end; resolves with the epoch ms at which it was spawned and, for each marker,
 * when the first stdout line containing it arrived.
 */
function spawned(command, args, env, markers = []) {
  return new Promise((resolve, reject) => {
    const at = now();
    const seen = {};
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'ignore'], env });
    let text = '';
    child.stdout.setEncoding('utf8').on('data', (chunk) => {
      text += chunk;
      for (const marker of markers)
        if (seen[marker] === undefined && text.includes(marker)) seen[marker] = now();
    });
    child.on('error', reject);
    child.on('close', () => resolve({ at, seen, text }));
  });
}

export async function credentialsBenchmark(runs = 9) {
  const { createTestPki } = testSupport('support/servers/pki.js');
  const { TokenBook, secretValue } = testSupport('support/servers/loopback.js');
  const { startEntra } = testSupport('support/servers/entra.js');
  const { startAcr } = testSupport('support/servers/acr.js');
  const { agentEnvironment } = testSupport('support/agent.js');
  const { startFakeDaemon } = testSupport('support/fakeDaemon.js');
  const instantBuildctlDir = join(root, 'bench', 'instant-buildctl');
  const entry = bundledTask;

  const tenant = '3f2a9c1e-7b4d-4e8f-9a01-5c6d7e8f9a0b';
  const clientId = 'a1a1a1a1-0000-4000-8000-0000000000b1';
  const secret = secretValue('bench-secret');
  const pki = createTestPki();
  const book = new TokenBook();
  const entra = await startEntra(pki, book, { tenant, clients: [{ clientId, secret }] });
  const acr = await startAcr(pki, book);
  const daemon = await startFakeDaemon();
  const context = scratch('cred-context');
  writeFileSync(join(context, 'Dockerfile'), 'FROM scratch\n');
  try {
    const bare = summarise(await repeat(runs, () => timeRun(process.execPath, ['-e', '0'])));
    const phases = [];
    const toBuild = summarise(
      await repeat(runs, async () => {
        const started = join(scratch('cred-record'), 'build-started');
        const temp = scratch('cred-agent');
        const env = agentEnvironment(
          {
            entry,
            inputs: {
              azureSubscription: 'ARM-BENCH',
              acr: acr.host,
              repository: 'team/app',
              tags: 'v1',
              context,
              buildkitAddress: daemon.address,
              // Never the internet: were buildctl not found, the install would fail here, at once.
              buildkitDownloadUrl: 'http://127.0.0.1:9',
            },
            endpoints: {
              'ARM-BENCH': {
                url: 'https://management.azure.com/',
                scheme: 'ServicePrincipal',
                parameters: {
                  serviceprincipalid: clientId,
                  authenticationType: 'spnKey',
                  serviceprincipalkey: secret,
                  tenantid: tenant,
                },
                data: { environment: 'AzureCloud', activeDirectoryAuthority: entra.authority },
              },
            },
            env: { NODE_EXTRA_CA_CERTS: pki.caFile, BENCH_BUILD_STARTED: started },
            pathPrepend: [instantBuildctlDir],
            cwd: context,
          },
          temp,
        );
        const begin = 'Getting registry credentials';
        const end = 'written to a private docker config';
        const { at, seen, text } = await spawned(process.execPath, [entry], env, [begin, end]);
        phases.push({ before: seen[begin] - at, credentials: seen[end] - seen[begin] });
        if (!existsSync(started)) throw new Error(`the task never started buildctl build:\n${text}`);
        const build = Number(BigInt(readFileSync(started, 'utf8').trim()) / 1000n) / 1000;
        return build - at;
      }),
    );
    const before = summarise(phases.map((p) => p.before));
    const credentials = summarise(phases.map((p) => p.credentials));
    const ratio = (s) => `${(s.median / bare.median).toFixed(2)}× bare node`;
    return [
      [
        'task start → credential phase begins (task-lib, inputs validated)',
        `${fmt(before, 1, ' ms')} = ${ratio(before)}`,
      ],
      [
        'credential phase: @azure/identity loaded, Entra ID token, ACR exchange, docker config written',
        `${fmt(credentials, 1, ' ms')} = ${ratio(credentials)} (runs beside the buildctl resolution)`,
      ],
      [
        'task start → `buildctl build` start, service principal + ACR exchange on loopback (target ≤ 3×)',
        `${fmt(toBuild, 1, ' ms')} = ${ratio(toBuild)} (bare node ${fmt(bare, 1, ' ms')})`,
      ],
    ];
  } finally {
    await Promise.all([entra.close(), acr.close(), daemon.close()]);
    pki.remove();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const rows = await credentialsBenchmark();
  for (const [what, figure] of rows) console.log(`| ${what} | ${figure} |`);
}
