import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import {
  CACHED_ARCHIVE_FILE,
  resolveBuildctl,
  type ResolveDeps,
} from '../../tasks/BuildKitBuild/src/tool/install';
import type { ToolSpec } from '../../tasks/BuildKitBuild/src/tool/spec';
import type { ToolCache } from '../../tasks/BuildKitBuild/src/tool/toolCache';
import { makeContext } from '../support/fakeContext';

const PIN = 'cd'.repeat(32);
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describe('tool: resolveBuildctl (fake tool cache)', () => {
  let toolsDir: string;
  let tempDir: string;
  beforeEach(() => {
    toolsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bkb-resolve-'));
    tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bkb-resolve-temp-'));
  });
  afterEach(() => {
    fs.rmSync(toolsDir, { recursive: true, force: true });
    fs.rmSync(tempDir, { recursive: true, force: true });
  });

  /**
   * A cache holding `entries` (version → directory); records what was asked of it. Its download serves
   * `served` when given; its extraction writes bin/buildctl saying which archive bytes it came from.
   */
  function fakeCache(
    entries: Record<string, string>,
    served?: string,
  ): { cache: ToolCache; calls: string[] } {
    const calls: string[] = [];
    const cache: ToolCache = {
      find: (tool, version, arch) => {
        calls.push(`find ${tool} ${version} ${arch}`);
        return entries[version];
      },
      download: (url, file) => {
        calls.push(`download ${url}`);
        if (served === undefined) return Promise.reject(new Error('no network in this test'));
        fs.writeFileSync(file, served);
        return Promise.resolve();
      },
      extractTar: (file, destination) => {
        calls.push(`extract ${path.relative(tempDir, file)}`);
        fs.mkdirSync(path.join(destination, 'bin'), { recursive: true });
        fs.writeFileSync(path.join(destination, 'bin', 'buildctl'), `from ${fs.readFileSync(file, 'utf8')}`);
        return Promise.resolve();
      },
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
      lockTiming: { pollMs: 1, refreshMs: 10_000, maxWaitMs: 1000 },
    };
  }
  const spec = (version?: string, sha256?: string): ToolSpec => ({
    version,
    sha256,
    downloadUrl: 'http://127.0.0.1:9/releases',
  });
  /** A cached release: bin/buildctl, and the archive it came from when `archive` is given. */
  const cachedEntry = (archive?: string): string => {
    const dir = path.join(toolsDir, 'buildkit', '0.32.2', 'x64');
    fs.mkdirSync(path.join(dir, 'bin'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'bin', 'buildctl'), 'cached');
    if (archive !== undefined) fs.writeFileSync(path.join(dir, CACHED_ARCHIVE_FILE), archive);
    return dir;
  };
  const signal = new AbortController().signal;
  const context = (platform: NodeJS.Platform = 'linux', arch = 'x64') =>
    makeContext({
      variables: { 'Agent.ToolsDirectory': toolsDir, 'Agent.TempDirectory': tempDir },
      platform,
      arch,
    });

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

  it('refuses a pinned run when the cached archive is not the pinned one, and runs nothing from it', async () => {
    const dir = cachedEntry('another archive');
    const { cache, calls } = fakeCache({ '0.32.2': dir });
    await assert.rejects(
      resolveBuildctl(spec('0.32.2', PIN), context(), signal, deps(cache, undefined, '0.32.2')),
      {
        message: `The tool cache holds BuildKit 0.32.2 from an archive with sha256:${sha256('another archive')}, but buildctlVersion pins sha256:${PIN}. Check the pinned digest; if it is right, remove ${dir} from the tool cache so that the release is downloaded again.`,
      },
    );
    assert.ok(!calls.some((c) => c.startsWith('prepend') || c.startsWith('extract')), calls.join('\n'));
  });

  it('runs a pinned release from a private copy of the checked archive, never from the cached bin/', async () => {
    const dir = cachedEntry('the release');
    const { cache, calls } = fakeCache({ '0.32.2': dir });
    const buildctl = await resolveBuildctl(
      spec('0.32.2', sha256('the release')),
      context(),
      signal,
      deps(cache, undefined, '0.32.2'),
    );
    assert.ok(buildctl.path.startsWith(tempDir + path.sep), buildctl.path);
    assert.equal(fs.readFileSync(buildctl.path, 'utf8'), 'from the release');
    assert.equal(buildctl.binDir, path.dirname(buildctl.path));
    assert.deepEqual(
      calls.filter((c) => !c.startsWith('find')),
      [
        `extract ${path.relative(tempDir, path.join(path.dirname(buildctl.binDir), '..', 'archive.tar.gz'))}`,
        `prepend ${buildctl.binDir}`,
      ],
    );
  });

  it('downloads the archive and checks it against the pin when the cache entry does not keep it', async () => {
    const dir = cachedEntry();
    const { cache, calls } = fakeCache({ '0.32.2': dir }, 'the release');
    const ctx = context();
    const buildctl = await resolveBuildctl(
      spec('0.32.2', sha256('the release')),
      ctx,
      signal,
      deps(cache, undefined, '0.32.2'),
    );
    assert.equal(fs.readFileSync(buildctl.path, 'utf8'), 'from the release');
    assert.ok(
      calls.includes('download http://127.0.0.1:9/releases/v0.32.2/buildkit-v0.32.2.linux-amd64.tar.gz'),
    );
    assert.ok(ctx.recorded.infos.some((m) => m.includes('does not keep its release archive')));
  });

  it('refuses a downloaded archive that does not match the pin when the cache entry does not keep one', async () => {
    const dir = cachedEntry();
    const { cache, calls } = fakeCache({ '0.32.2': dir }, 'something else');
    await assert.rejects(
      resolveBuildctl(spec('0.32.2', PIN), context(), signal, deps(cache, undefined, '0.32.2')),
      {
        message: new RegExp(`has sha256:${sha256('something else')}, but buildctlVersion pins sha256:${PIN}`),
      },
    );
    assert.ok(!calls.some((c) => c.startsWith('prepend') || c.startsWith('extract')));
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
