import * as assert from 'node:assert/strict';
import {
  normalizePlatform,
  planRoutes,
  type DaemonOffer,
} from '../../tasks/BuildKitBuild/src/platforms/routing';

const AMD = 'tcp://amd.buildkit:1234';
const ARM = 'tcp://arm.buildkit:1234';
const ARMV7 = 'tcp://armv7.buildkit:1234';
const REPO = 'team/app';

const offer = (address: string, workerPlatforms: string[], declared: string[] = []): DaemonOffer => ({
  address,
  workerPlatforms,
  declared,
});
const amd = offer(AMD, ['linux/amd64', 'linux/386']);
const arm = offer(ARM, ['linux/arm64', 'linux/arm/v7']);
const armv7 = offer(ARMV7, ['linux/arm/v7', 'linux/arm/v6']);

describe('planRoutes under attack: platforms spelled two ways', () => {
  it('two spellings of one platform (linux/arm64, linux/arm64/v8) are one build, not two index entries', () => {
    assert.deepEqual(planRoutes([amd, arm], ['linux/amd64', 'linux/arm64', 'linux/arm64/v8'], REPO), {
      kind: 'split',
      routes: [
        { platform: 'linux/amd64', daemons: [AMD], native: true },
        { platform: 'linux/arm64', daemons: [ARM], native: true },
      ],
    });
    assert.deepEqual(planRoutes([amd, arm], ['linux/arm64/v8', 'linux/arm64'], REPO), { kind: 'single' });
  });

  it("containerd's names: linux/arm is linux/arm/v7, aarch64 is arm64, x86_64 is amd64, i386 is 386", () => {
    assert.deepEqual(
      [
        'linux/arm',
        'linux/arm/7',
        'linux/aarch64',
        'linux/arm64/8',
        'linux/x86_64',
        'linux/i386',
        'linux/arm/v6',
      ].map(normalizePlatform),
      [
        'linux/arm/v7',
        'linux/arm/v7',
        'linux/arm64',
        'linux/arm64',
        'linux/amd64',
        'linux/386',
        'linux/arm/v6',
      ],
    );
    assert.deepEqual(planRoutes([amd, armv7], ['linux/amd64', 'linux/arm'], REPO), {
      kind: 'split',
      routes: [
        { platform: 'linux/amd64', daemons: [AMD], native: true },
        { platform: 'linux/arm', daemons: [ARMV7], native: true },
      ],
    });
    // A line that declares linux/arm serves what BuildKit reports as linux/arm/v7.
    assert.deepEqual(
      planRoutes([amd, offer(ARMV7, [], ['linux/arm'])], ['linux/amd64', 'linux/arm/v7'], REPO),
      {
        kind: 'split',
        routes: [
          { platform: 'linux/amd64', daemons: [AMD], native: true },
          { platform: 'linux/arm/v7', daemons: [ARMV7], native: true },
        ],
      },
    );
  });
});

describe('planRoutes under attack: a daemon that offers nothing', () => {
  it('a daemon whose worker list is empty (and whose line declares nothing) does not make the build split', () => {
    const amdEmulating = offer(AMD, ['linux/amd64', 'linux/arm64']);
    const empty = offer(ARM, []);
    assert.deepEqual(planRoutes([amdEmulating], ['linux/amd64', 'linux/arm64'], REPO), { kind: 'single' });
    assert.deepEqual(planRoutes([amdEmulating, empty], ['linux/amd64', 'linux/arm64'], REPO), {
      kind: 'single',
    });
    assert.deepEqual(planRoutes([amd, empty, arm], ['linux/amd64', 'linux/arm64'], REPO), {
      kind: 'split',
      routes: [
        { platform: 'linux/amd64', daemons: [AMD], native: true },
        { platform: 'linux/arm64', daemons: [ARM], native: true },
      ],
    });
  });
});
