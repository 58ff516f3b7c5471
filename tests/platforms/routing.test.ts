import * as assert from 'node:assert/strict';
import { parseDaemonLines } from '../../tasks/BuildKitBuild/src/buildInputs/daemonInputs';
import { rendezvousOrder } from '../../tasks/BuildKitBuild/src/daemon/rendezvous';
import { formatProblem, type InputProblem } from '../../tasks/BuildKitBuild/src/inputErrors';
import { reporter } from '../../tasks/BuildKitBuild/src/buildInputs/fields';
import {
  describeOffer,
  normalizePlatform,
  planRoutes,
  type DaemonOffer,
  type RoutingPlan,
} from '../../tasks/BuildKitBuild/src/platforms/routing';
import { makeContext } from '../support/fakeContext';

const AMD = 'tcp://amd.buildkit:1234';
const AMD2 = 'tcp://amd-2.buildkit:1234';
const ARM = 'tcp://arm.buildkit:1234';
const ARM2 = 'tcp://arm-2.buildkit:1234';
const REPO = 'team/app';

const offer = (address: string, workerPlatforms: string[], declared: string[] = []): DaemonOffer => ({
  address,
  workerPlatforms,
  declared,
});
const amd = offer(AMD, ['linux/amd64', 'linux/amd64/v2', 'linux/386', 'linux/arm64']);
const amd2 = offer(AMD2, ['linux/amd64', 'linux/386']);
const arm = offer(ARM, ['linux/arm64', 'linux/arm/v7', 'linux/arm/v6']);
const arm2 = offer(ARM2, ['linux/arm64/v8', 'linux/arm/v7']);

describe('planRoutes: daemons × platforms → plan', () => {
  const rows: { name: string; offers: DaemonOffer[]; platforms: string[]; plan: RoutingPlan }[] = [
    {
      name: 'one platform: single build',
      offers: [amd, arm],
      platforms: ['linux/arm64'],
      plan: { kind: 'single' },
    },
    { name: 'no platform: single build', offers: [amd, arm], platforms: [], plan: { kind: 'single' } },
    {
      name: 'one daemon: BuildKit builds both itself',
      offers: [amd],
      platforms: ['linux/amd64', 'linux/arm64'],
      plan: { kind: 'single' },
    },
    {
      name: 'daemons all of one platform: single build',
      offers: [amd, amd2],
      platforms: ['linux/amd64', 'linux/arm64'],
      plan: { kind: 'single' },
    },
    {
      name: 'one native daemon per platform',
      offers: [amd, arm],
      platforms: ['linux/amd64', 'linux/arm64'],
      plan: {
        kind: 'split',
        routes: [
          { platform: 'linux/amd64', daemons: [AMD], native: true },
          { platform: 'linux/arm64', daemons: [ARM], native: true },
        ],
      },
    },
    {
      name: 'linux/arm64/v8 of a worker is linux/arm64',
      offers: [amd, arm2],
      platforms: ['linux/arm64', 'linux/amd64'],
      plan: {
        kind: 'split',
        routes: [
          { platform: 'linux/arm64', daemons: [ARM2], native: true },
          { platform: 'linux/amd64', daemons: [AMD], native: true },
        ],
      },
    },
    {
      name: 'no native daemon for arm/v7: emulated on the one that lists it',
      offers: [amd, arm2, amd2],
      platforms: ['linux/amd64', 'linux/arm64', 'linux/386'],
      plan: {
        kind: 'split',
        routes: [
          { platform: 'linux/amd64', daemons: rendezvousOrder([AMD, AMD2], REPO), native: true },
          { platform: 'linux/arm64', daemons: [ARM2], native: true },
          { platform: 'linux/386', daemons: rendezvousOrder([AMD, AMD2], REPO), native: false },
        ],
      },
    },
    {
      name: 'platforms named on the line replace the first worker platform',
      offers: [
        offer(AMD, ['linux/amd64', 'linux/arm64'], ['linux/amd64']),
        offer(ARM, ['linux/amd64'], ['linux/arm64']),
      ],
      platforms: ['linux/amd64', 'linux/arm64'],
      plan: {
        kind: 'split',
        routes: [
          { platform: 'linux/amd64', daemons: [AMD], native: true },
          { platform: 'linux/arm64', daemons: [ARM], native: true },
        ],
      },
    },
    {
      name: 'a platform nobody offers',
      offers: [amd2, arm],
      platforms: ['linux/amd64', 'linux/s390x', 'linux/arm64', 'linux/ppc64le'],
      plan: { kind: 'unserved', platforms: ['linux/s390x', 'linux/ppc64le'] },
    },
  ];
  for (const row of rows) {
    it(row.name, () => {
      assert.deepEqual(planRoutes(row.offers, row.platforms, REPO), row.plan);
    });
  }

  it('several native daemons: rendezvous order of the repository within the group, stable per repository', () => {
    const offers = [amd, amd2, arm, arm2];
    const orders = new Set<string>();
    for (const repository of ['team/app', 'team/api', 'team/web', 'team/db', 'x/y', 'a', 'b', 'c']) {
      const plan = planRoutes(offers, ['linux/amd64', 'linux/arm64'], repository);
      if (plan.kind !== 'split') assert.fail(`expected a split plan, got ${plan.kind}`);
      const [amdRoute, armRoute] = plan.routes.map((r) => r.daemons);
      assert.deepEqual(amdRoute, rendezvousOrder([AMD, AMD2], repository));
      assert.deepEqual(armRoute, rendezvousOrder([ARM, ARM2], repository));
      assert.deepEqual(planRoutes([...offers].reverse(), ['linux/amd64', 'linux/arm64'], repository), plan);
      orders.add(amdRoute[0] ?? '');
    }
    // Different repositories land on different daemons of the group: the hash spreads them.
    assert.deepEqual([...orders].sort(), [AMD2, AMD].sort());
  });

  it('normalizePlatform and describeOffer', () => {
    assert.equal(normalizePlatform('linux/arm64/v8'), 'linux/arm64');
    assert.equal(normalizePlatform('Linux/AMD64'), 'linux/amd64');
    assert.equal(normalizePlatform('linux/arm/v7'), 'linux/arm/v7');
    assert.equal(
      describeOffer(offer(ARM, ['linux/amd64', 'linux/arm64'], ['linux/arm64'])),
      `${ARM} (native linux/arm64; workers linux/amd64, linux/arm64)`,
    );
  });
});

describe('buildkitAddress lines: <address> [<platform>...]', () => {
  const parse = (raw: string): { lines: ReturnType<typeof parseDaemonLines>; problems: string[] } => {
    const problems: InputProblem[] = [];
    const lines = parseDaemonLines(raw, makeContext(), reporter(problems));
    return { lines, problems: problems.map(formatProblem) };
  };

  it('platforms after the address, separated by any whitespace, lowercased, duplicates dropped', () => {
    const { lines, problems } = parse(
      `${AMD}\n  ${ARM}   linux/arm64\tLinux/ARM/v7 linux/arm64\n${AMD}  linux/386\n`,
    );
    assert.deepEqual(problems, []);
    assert.deepEqual(lines, { addresses: [AMD, ARM], served: { [ARM]: ['linux/arm64', 'linux/arm/v7'] } });
  });

  it('a word that is not a platform is an error naming buildkitAddress, the line and the word', () => {
    const { problems } = parse(`${AMD}\n${ARM} arm64 linux/arm64`);
    assert.equal(problems.length, 1);
    assert.match(
      problems[0] ?? '',
      /^buildkitAddress \(line 2\): 'arm64' after the address tcp:\/\/arm\.buildkit:1234 is not a platform/,
    );
  });

  it('a bad address is still reported as before', () => {
    const { problems, lines } = parse('buildkitd:1234 linux/amd64');
    assert.equal(problems.length, 1);
    assert.match(
      problems[0] ?? '',
      /^buildkitAddress \(line 1\): 'buildkitd:1234' is not a buildkitd address/,
    );
    assert.deepEqual(lines.addresses, []);
  });
});
