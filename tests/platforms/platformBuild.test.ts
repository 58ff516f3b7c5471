import * as assert from 'node:assert/strict';
import { buildctlBuildArgs } from '../../tasks/BuildKitBuild/src/buildctl/args';
import { planScopes } from '../../tasks/BuildKitBuild/src/buildInputs/branchCache';
import type { CacheSpec } from '../../tasks/BuildKitBuild/src/buildInputs/cacheInputs';
import {
  platformCache,
  platformCacheRef,
  platformInputs,
} from '../../tasks/BuildKitBuild/src/platforms/platformInputs';
import { renderPlatformSummary } from '../../tasks/BuildKitBuild/src/platforms/summary';
import type { PlatformResult } from '../../tasks/BuildKitBuild/src/platforms/splitBuild';
import { localizer } from '../support/fakeContext';
import { tempDir } from '../support/fakeDaemon';
import { buildInputsFor, writeBuildContext } from '../support/buildInputs';

const TLS = { caCert: undefined, cert: undefined, key: undefined, serverName: undefined };

describe('one platform of a split build', () => {
  it('platformCacheRef appends the platform to the tag', () => {
    const rows: [string, string, string][] = [
      [
        'myacr.azurecr.io/team/app:buildcache',
        'linux/arm64',
        'myacr.azurecr.io/team/app:buildcache-linux-arm64',
      ],
      [
        'myacr.azurecr.io/team/app:buildcache',
        'linux/arm/v7',
        'myacr.azurecr.io/team/app:buildcache-linux-arm-v7',
      ],
      ['127.0.0.1:5000/team/app', 'linux/amd64', '127.0.0.1:5000/team/app:latest-linux-amd64'],
      ['r.example:443/cache:main', 'linux/amd64', 'r.example:443/cache:main-linux-amd64'],
    ];
    for (const [ref, platform, expected] of rows) assert.equal(platformCacheRef(ref, platform), expected);
  });

  it('a branch-scoped cache composes branch, then platform, for every import and the export', () => {
    const name = 'myacr.azurecr.io/team/app';
    const cache: CacheSpec = {
      kind: 'registry',
      mode: 'max',
      imports: [`${name}:buildcache-fix-typo`, `${name}:buildcache`],
      export: `${name}:buildcache-fix-typo`,
      base: { name, tag: 'buildcache' },
      plan: planScopes({
        sourceBranch: 'refs/pull/17/merge',
        reason: 'PullRequest',
        pullRequestSourceBranch: 'refs/heads/fix-typo',
        pullRequestTargetBranch: 'refs/heads/main',
        pullRequestNumber: '17',
      }),
    };
    const arm = platformCache(cache, 'linux/arm64');
    assert.ok(arm.kind === 'registry');
    assert.deepEqual(arm.imports, [
      `${name}:buildcache-fix-typo-linux-arm64`,
      `${name}:buildcache-linux-arm64`,
    ]);
    assert.equal(arm.export, `${name}:buildcache-fix-typo-linux-arm64`);
    // An exact cacheRef (no plan): the platform appended to each ref's tag.
    const exact = platformCache({ ...cache, plan: undefined }, 'linux/amd64');
    assert.ok(exact.kind === 'registry');
    assert.deepEqual(exact.imports, [
      `${name}:buildcache-fix-typo-linux-amd64`,
      `${name}:buildcache-linux-amd64`,
    ]);
    assert.deepEqual(platformCache({ kind: 'none' }, 'linux/amd64'), { kind: 'none' });
  });

  it('argv: one platform, pushed by digest under the bare name, its own cache ref, the rest unchanged', () => {
    const dir = tempDir();
    writeBuildContext(dir);
    const inputs = buildInputsFor(dir, {
      platforms: 'linux/amd64,linux/arm64',
      tags: '7\nlatest',
      cacheMode: 'min',
    });
    const now = new Date('2026-01-02T03:04:05Z');
    const daemon = { address: 'tcp://arm:1234', tls: TLS };
    const whole = buildctlBuildArgs(inputs, daemon, '/m.json', now);
    const one = buildctlBuildArgs(platformInputs(inputs, 'linux/arm64'), daemon, '/m.json', now);
    const replaced = new Map([
      ['platform=linux/amd64,linux/arm64', 'platform=linux/arm64'],
      [
        'type=registry,ref=r.example/team/app:buildcache',
        'type=registry,ref=r.example/team/app:buildcache-linux-arm64',
      ],
      [
        'type=registry,ref=r.example/team/app:buildcache,mode=min,ignore-error=true',
        'type=registry,ref=r.example/team/app:buildcache-linux-arm64,mode=min,ignore-error=true',
      ],
      [
        'type=image,"name=r.example/team/app:7,r.example/team/app:latest",push=true',
        'type=image,name=r.example/team/app,push-by-digest=true,push=true',
      ],
    ]);
    for (const from of replaced.keys()) assert.ok(whole.includes(from), `${from} in ${whole.join(' ')}`);
    assert.deepEqual(
      one,
      whole.map((word) => replaced.get(word) ?? word),
    );
  });

  it('push false: no name, nothing pushed, the cache only read', () => {
    const dir = tempDir();
    writeBuildContext(dir);
    const inputs = buildInputsFor(dir, { platforms: 'linux/amd64,linux/arm64', push: 'false' });
    const argv = buildctlBuildArgs(
      platformInputs(inputs, 'linux/amd64'),
      { address: 'tcp://a:1', tls: TLS },
      '/m',
    );
    assert.equal(argv[argv.indexOf('--output') + 1], 'type=image,push=false');
    assert.equal(argv.includes('--export-cache'), false);
    assert.equal(
      argv[argv.indexOf('--import-cache') + 1],
      'type=registry,ref=r.example/team/app:buildcache-linux-amd64',
    );
  });
});

describe('renderPlatformSummary', () => {
  const loc = localizer();
  const result = (overrides: Partial<PlatformResult>): PlatformResult => ({
    platform: 'linux/amd64',
    daemon: 'tcp://amd:1234',
    native: true,
    state: 'succeeded',
    metadata: { digest: `sha256:${'a'.repeat(64)}`, imageNames: [] },
    durationMs: 61_000,
    attempts: 1,
    steps: 3,
    cached: 1,
    cacheExportFailures: [],
    ...overrides,
  });

  it('a row per platform: result, daemon, native or emulated, digest, duration, steps; the index below', () => {
    const text = renderPlatformSummary(
      {
        results: [
          result({}),
          result({
            platform: 'linux/arm/v7',
            daemon: 'tcp://arm|x:1',
            native: false,
            durationMs: 4_200,
            cached: 0,
          }),
        ],
        indexDigest: `sha256:${'f'.repeat(64)}`,
        pushed: true,
      },
      loc,
    );
    assert.equal(
      text,
      [
        '#### Platforms',
        '',
        '| Platform | Result | Daemon | Built | Digest | Duration | Steps |',
        '|---|---|---|---|---|---|---|',
        `| \`linux/amd64\` | succeeded | \`tcp://amd:1234\` | native | \`sha256:${'a'.repeat(64)}\` | 1m 01s | 3 Dockerfile steps, 1 cached |`,
        `| \`linux/arm/v7\` | succeeded | \`tcp://arm\\|x:1\` | emulated | \`sha256:${'a'.repeat(64)}\` | 4.2s | 3 Dockerfile steps, 0 cached |`,
        '',
        `Image index: \`sha256:${'f'.repeat(64)}\``,
        '',
      ].join('\n'),
    );
  });

  it('push false says that no index exists; a stopped platform shows no digest', () => {
    const text = renderPlatformSummary(
      { results: [result({ state: 'stopped', metadata: undefined })], indexDigest: undefined, pushed: false },
      loc,
    );
    assert.match(text, /\| `linux\/amd64` \| stopped \| `tcp:\/\/amd:1234` \| native \| none \|/);
    assert.match(
      text,
      /push is false: each platform was built and nothing was pushed, so no image index exists\./,
    );
  });
});
