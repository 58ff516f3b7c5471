import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  ARCHIVE_DIGEST_FILE,
  resolveBuildctl,
  type ResolveDeps,
} from '../../tasks/BuildKitBuild/src/tool/install';
import type { ToolSpec } from '../../tasks/BuildKitBuild/src/tool/spec';
import type { ToolCache } from '../../tasks/BuildKitBuild/src/tool/toolCache';
import { makeContext } from '../support/fakeContext';

const PIN = 'cd'.repeat(32);

describe('tool: resolveBuildctl (fake tool cache)', () => {
  let toolsDir: string;
  beforeEach(() => {
    toolsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bkb-resolve-'));
  });
  afterEach(() => {
    fs.rmSync(toolsDir, { recursive: true, force: true });
  });

  /** A cache holding `entries` (version → directory); records what was asked of it. */
  function fakeCache(entries: Record<string, string>): { cache: ToolCache; calls: string[] } {
    const calls: string[] = [];
    const cache: ToolCache = {
      find: (tool, version, arch) => {
        calls.push(`find ${tool} ${version} ${arch}`);
        return entries[version];
      },
      download: (url) => {
        calls.push(`download ${url}`);
        return Promise.reject(new Error('no network in this test'));
      },
      extractTar: () => Promise.reject(new Error('unused')),
      cacheDir: () => Promise.reject(new Error('unused')),
      prependPath: (dir) => {
        calls.push(`prepend ${dir}`);
      },
    };
    return { cache, calls };
  }

  function deps(cache: ToolCache, onPath: string | undefined, reports: string): ResolveDeps {
    return {
      findOnPath: () => onPath,
      probe: () =>
        Promise.resolve({ version: reports, output: `buildctl github.com/moby/buildkit v${reports} x` }),
      toolCache: () => Promise.resolve(cache),
      sleep: () => Promise.resolve(),
      retry: { attempts: 1, firstDelayMs: 0, maxDelayMs: 0 },
      lockTiming: { pollMs: 1, staleMs: 60_000, maxWaitMs: 1000 },
    };
  }
  const spec = (version?: string, sha256?: string): ToolSpec => ({
    version,
    sha256,
    downloadUrl: 'http://127.0.0.1:9/releases',
  });
  const cachedEntry = (digest?: string): string => {
    const dir = path.join(toolsDir, 'buildkit', '0.32.2', 'x64');
    fs.mkdirSync(path.join(dir, 'bin'), { recursive: true });
    if (digest !== undefined) fs.writeFileSync(path.join(dir, ARCHIVE_DIGEST_FILE), `${digest}\n`);
    return dir;
  };
  const signal = new AbortController().signal;
  const context = (platform: NodeJS.Platform = 'linux', arch = 'x64') =>
    makeContext({ variables: { 'Agent.ToolsDirectory': toolsDir }, platform, arch });

  it('takes buildctl from PATH without touching the tool cache when no version is asked for', async () => {
    const { cache, calls } = fakeCache({});
    const ctx = context();
    const buildctl = await resolveBuildctl(
      spec(),
      ctx,
      signal,
      deps(cache, '/opt/bk/bin/buildctl', '0.31.1'),
    );
    assert.deepEqual(buildctl, { path: '/opt/bk/bin/buildctl', version: '0.31.1', binDir: '/opt/bk/bin' });
    assert.deepEqual(calls, []);
    assert.deepEqual(ctx.recorded.infos, ['Using buildctl /opt/bk/bin/buildctl from PATH (version 0.31.1).']);
  });

  it('fails clearly when buildctl on PATH does not report a version', async () => {
    const { cache } = fakeCache({});
    const broken: ResolveDeps = {
      ...deps(cache, '/usr/bin/buildctl', '0.32.2'),
      probe: () => Promise.resolve({ version: undefined, output: 'segmentation fault' }),
    };
    await assert.rejects(resolveBuildctl(spec(), context(), signal, broken), {
      message:
        'buildctl on PATH (/usr/bin/buildctl) did not report its version: segmentation fault. Fix or remove it, or set buildctlVersion to install a BuildKit release through the tool cache.',
    });
  });

  it('uses the tool cache for an asked version even with buildctl on PATH, and prepends its bin', async () => {
    const dir = cachedEntry();
    const { cache, calls } = fakeCache({ '0.32.2': dir });
    const buildctl = await resolveBuildctl(
      spec('0.32.2'),
      context(),
      signal,
      deps(cache, '/usr/bin/buildctl', '0.32.2'),
    );
    assert.deepEqual(buildctl, {
      path: path.join(dir, 'bin', 'buildctl'),
      version: '0.32.2',
      binDir: path.join(dir, 'bin'),
    });
    assert.deepEqual(calls, ['find buildkit 0.32.2 x64', `prepend ${path.join(dir, 'bin')}`]);
  });

  it('checks a pinned digest against the one recorded in the cache entry', async () => {
    const dir = cachedEntry('ef'.repeat(32));
    const { cache, calls } = fakeCache({ '0.32.2': dir });
    await assert.rejects(
      resolveBuildctl(spec('0.32.2', PIN), context(), signal, deps(cache, undefined, '0.32.2')),
      {
        message: new RegExp(`archive with sha256:${'ef'.repeat(32)}, but buildctlVersion pins sha256:${PIN}`),
      },
    );
    assert.ok(!calls.some((c) => c.startsWith('prepend')));
  });

  it('refuses, with a pin, a cache entry that does not record its archive digest', async () => {
    const dir = cachedEntry();
    const { cache, calls } = fakeCache({ '0.32.2': dir });
    await assert.rejects(
      resolveBuildctl(spec('0.32.2', PIN), context(), signal, deps(cache, undefined, '0.32.2')),
      { message: /does not record its archive's digest/ },
    );
    assert.ok(!calls.some((c) => c.startsWith('prepend')));
  });

  it('accepts a cache entry whose recorded digest matches the pin', async () => {
    const dir = cachedEntry(PIN);
    const { cache } = fakeCache({ '0.32.2': dir });
    const buildctl = await resolveBuildctl(
      spec('0.32.2', PIN),
      context(),
      signal,
      deps(cache, undefined, '0.32.2'),
    );
    assert.equal(buildctl.version, '0.32.2');
  });

  it('refuses a cache entry whose buildctl reports another version', async () => {
    const dir = cachedEntry();
    const { cache } = fakeCache({ '0.32.2': dir });
    await assert.rejects(
      resolveBuildctl(spec('0.32.2'), context(), signal, deps(cache, undefined, '0.30.0')),
      {
        message: new RegExp(
          `it reports version 0\\.30\\.0 instead of 0\\.32\\.2\\. Remove ${dir} from the tool cache`,
        ),
      },
    );
  });

  it('uses bin/buildctl.exe on Windows', async () => {
    const dir = cachedEntry();
    const { cache } = fakeCache({ '0.32.2': dir });
    const buildctl = await resolveBuildctl(
      spec('0.32.2'),
      context('win32', 'arm64'),
      signal,
      deps(cache, undefined, '0.32.2'),
    );
    assert.equal(buildctl.path, path.join(dir, 'bin', 'buildctl.exe'));
  });

  it('names the platform and the supported ones when BuildKit publishes no release for it', async () => {
    const { cache, calls } = fakeCache({});
    await assert.rejects(
      resolveBuildctl(spec('0.32.2'), context('linux', 'ia32'), signal, deps(cache, undefined, '0.32.2')),
      {
        message:
          'BuildKit publishes no release for this agent (linux/ia32); releases exist for linux/amd64, linux/arm64, linux/arm-v7, linux/s390x, linux/ppc64le, linux/riscv64, darwin/amd64, darwin/arm64, windows/amd64, windows/arm64. Install buildctl on the agent and leave buildctlVersion empty.',
      },
    );
    assert.deepEqual(calls, []);
  });

  it('downloads the default release from the mirror when nothing is on PATH or in the cache', async () => {
    const { cache, calls } = fakeCache({});
    const ctx = context('darwin', 'arm64');
    await assert.rejects(resolveBuildctl(spec(), ctx, signal, deps(cache, undefined, '0.32.2')), {
      message: /no network in this test/,
    });
    assert.deepEqual(calls, [
      'find buildkit 0.32.2 arm64',
      'find buildkit 0.32.2 arm64',
      'download http://127.0.0.1:9/releases/v0.32.2/buildkit-v0.32.2.darwin-arm64.tar.gz',
    ]);
    assert.equal(fs.readdirSync(path.join(toolsDir, 'buildkit', '0.32.2')).length, 0, 'lock released');
  });
});
