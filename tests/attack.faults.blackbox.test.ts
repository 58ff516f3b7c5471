import * as assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { releasePlatform } from '../tasks/BuildKitBuild/src/tool/platform';
import { startTask, type TaskRun } from './support/agent';
import { bundledTaskEntry } from './support/repo';

/**
 * Waits that SIGTERM must end, black-box against the bundled task: a release mirror that stops sending
 * (before its answer, or half-way through the archive) and an install lock that a live job keeps. The
 * harness kills a task that is still running after its timeout, which then reports no result.
 */

const here = releasePlatform(process.platform, os.arch());

/** A mirror that answers nothing, or sends the headers and part of the body, and then waits forever. */
async function stallingMirror(
  mode: 'noAnswer' | 'halfBody',
): Promise<{ url: string; close(): Promise<void> }> {
  const open = new Set<http.ServerResponse>();
  const server = http.createServer((req, res) => {
    req.resume();
    open.add(res);
    if (mode === 'halfBody') {
      res.writeHead(200, { 'Content-Type': 'application/gzip', 'Content-Length': '1048576' });
      res.write(Buffer.alloc(4096));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/releases`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of open) res.destroy();
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}

describe('SIGTERM ends every wait of the installer (black-box, bundled task)', function () {
  let scratch: string;
  let toolsDir: string;
  before(function () {
    if (here === undefined || process.platform === 'win32') this.skip();
  });
  beforeEach(() => {
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'bkb-attack-faults-'));
    toolsDir = path.join(scratch, 'tools');
    fs.writeFileSync(path.join(scratch, 'Dockerfile'), 'FROM scratch\n');
  });
  afterEach(() => {
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  const failure = (r: TaskRun) =>
    `${r.result ?? '(no result)'}: ${r.resultMessage ?? ''}\n${r.stdout}\n${r.stderr}`;

  async function cancelAfter(buildkitDownloadUrl: string, shown: string): Promise<TaskRun> {
    const task = startTask({
      entry: await bundledTaskEntry(),
      inputs: {
        repository: 'team/app',
        push: 'false',
        buildkitAddress: 'tcp://127.0.0.1:1',
        buildctlVersion: '0.32.2',
        buildkitDownloadUrl,
      },
      variables: { 'Agent.ToolsDirectory': toolsDir },
      cwd: scratch,
      timeoutMs: 20_000,
    });
    await task.waitForOutput(shown);
    task.child.kill('SIGTERM');
    return task.done;
  }

  for (const mode of ['noAnswer', 'halfBody'] as const) {
    it(`while the mirror ${mode === 'noAnswer' ? 'never answers' : 'stops half-way through the archive'}`, async () => {
      const mirror = await stallingMirror(mode);
      try {
        const r = await cancelAfter(mirror.url, 'Downloading BuildKit 0.32.2 from');
        assert.equal(r.result, 'Cancelled', failure(r));
        assert.equal(r.signal, null, `killed by the harness\n${failure(r)}`);
      } finally {
        await mirror.close();
      }
    });
  }

  it('while a live job holds the install lock', async () => {
    const lock = path.join(toolsDir, 'buildkit', '0.32.2', `${os.arch()}.lock`);
    fs.mkdirSync(lock, { recursive: true });
    const owner = path.join(lock, 'owner.json');
    fs.writeFileSync(owner, JSON.stringify({ token: randomUUID(), pid: process.pid, host: os.hostname() }));
    const refresh = setInterval(() => {
      const now = new Date();
      fs.utimesSync(owner, now, now);
    }, 1000);
    try {
      const r = await cancelAfter('http://127.0.0.1:1/releases', 'Another job on this agent is installing');
      assert.equal(r.result, 'Cancelled', failure(r));
      assert.equal(r.signal, null, `killed by the harness\n${failure(r)}`);
      assert.ok(fs.readFileSync(owner, 'utf8').includes(String(process.pid)), 'the live lock was left alone');
    } finally {
      clearInterval(refresh);
    }
  });
});
