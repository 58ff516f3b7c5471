import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { containersUnder, mountsUnder } from '../../tasks/BuildKitBuild/src/daemon/localCleanup';
import { displayFlags, parseDaemonFlags } from '../../tasks/BuildKitBuild/src/daemon/localFlags';
import {
  parseCapabilities,
  rootCanMount,
  type Capabilities,
} from '../../tasks/BuildKitBuild/src/daemon/localPrivileges';
import { isSafeSocketPath } from '../../tasks/BuildKitBuild/src/daemon/localState';
import { repoRoot } from '../support/repo';

describe('job daemon: BUILDKITD_FLAGS (pure)', () => {
  const table: [string | undefined, ReturnType<typeof parseDaemonFlags>][] = [
    [undefined, { flags: [] }],
    ['  ', { flags: [] }],
    [
      '--allow-insecure-entitlement=network.host --allow-insecure-entitlement security.insecure',
      {
        flags: [
          '--allow-insecure-entitlement=network.host',
          '--allow-insecure-entitlement',
          'security.insecure',
        ],
      },
    ],
    ['--oci-worker-snapshotter=native', { flags: ['--oci-worker-snapshotter=native'] }],
    [
      '--debug --config "/etc/my buildkitd.toml"',
      { flags: ['--debug', '--config', '/etc/my buildkitd.toml'] },
    ],
    ['--config "/etc/b.toml', { problem: { kind: 'quote' } }],
    ['--debug \\', { problem: { kind: 'trailing-backslash' } }],
    ['native', { problem: { kind: 'not-a-flag', word: 'native' } }],
    ['--debug --addr tcp://0.0.0.0:1234', { problem: { kind: 'reserved', flag: '--addr' } }],
    ['--root=/var/lib/buildkit', { problem: { kind: 'reserved', flag: '--root' } }],
    ['-group 0', { problem: { kind: 'reserved', flag: '--group' } }],
    ['--addr-not-quite=1', { flags: ['--addr-not-quite=1'] }],
  ];
  for (const [text, expected] of table) {
    it(text === undefined ? 'unset' : JSON.stringify(text), () => {
      assert.deepEqual(parseDaemonFlags(text), expected);
    });
  }
});

describe('job daemon: BUILDKITD_FLAGS in the log (pure)', () => {
  it('shows plain words as they are and quotes the rest, so that none can command the agent', () => {
    assert.equal(
      displayFlags([
        '--debug',
        '--config',
        '/etc/my buildkitd.toml',
        'a\n##vso[task.setvariable variable=x]y',
      ]),
      '--debug --config "/etc/my buildkitd.toml" "a\\n\\u0023\\u0023vso[task.setvariable variable=x]y"',
    );
  });
});

describe('job daemon: may a root daemon mount? (pure)', () => {
  const status = (eff: string, bnd: string): string =>
    `Name:\tnode\nUid:\t0\t0\t0\t0\nCapInh:\t0000000000000000\nCapPrm:\t${eff}\nCapEff:\t${eff}\nCapBnd:\t${bnd}\nCapAmb:\t0000000000000000\n`;
  // Docker's default set for an unprivileged container, and a privileged one.
  const unprivileged = '00000000a80425fb';
  const privileged = '000001ffffffffff';

  it('reads CapEff and CapBnd', () => {
    assert.deepEqual(parseCapabilities(status(unprivileged, privileged)), {
      effective: 0xa80425fbn,
      bounding: 0x1ffffffffffn,
    });
    assert.equal(parseCapabilities('Name:\tnode\n'), undefined);
  });

  const table: [string, Capabilities | undefined, boolean, boolean][] = [
    ['root in a privileged container', parseCapabilities(status(privileged, privileged)), false, true],
    [
      'root in an unprivileged container',
      parseCapabilities(status(unprivileged, unprivileged)),
      false,
      false,
    ],
    [
      'sudo where the bounding set keeps CAP_SYS_ADMIN',
      parseCapabilities(status('0', privileged)),
      true,
      true,
    ],
    ['sudo in an unprivileged container', parseCapabilities(status('0', unprivileged)), true, false],
    ['unknown (no /proc)', undefined, false, true],
  ];
  for (const [name, capabilities, sudo, expected] of table) {
    it(`${name}: ${expected ? 'can' : 'cannot'} mount`, () => {
      assert.equal(rootCanMount(capabilities, sudo), expected);
    });
  }

  it('sees a bounding set without CAP_SYS_ADMIN in a real process (setpriv)', function () {
    const script = `process.stdout.write(require('fs').readFileSync('/proc/self/status', 'utf8'))`;
    const run = spawnSync('setpriv', ['--bounding-set=-sys_admin', process.execPath, '-e', script], {
      encoding: 'utf8',
    });
    if (run.error !== undefined || run.status !== 0) this.skip(); // no setpriv, or not allowed to use it
    const capabilities = parseCapabilities(run.stdout);
    assert.equal(rootCanMount(capabilities, true), false);
    if (process.getuid?.() === 0) assert.equal(rootCanMount(capabilities, false), false);
  });
});

describe('job daemon: socket paths buildctl reads back as they are (pure)', () => {
  const table: [string, boolean][] = [
    ['/home/agent/_work/_temp/buildkitd-abc/buildkitd.sock', true],
    ['/a/b+c@d=e,f~g:h/buildkitd.sock', true],
    ['/agent/_temp#1/buildkitd.sock', false],
    ['/agent/_temp?x/buildkitd.sock', false],
    ['/agent/_temp%41/buildkitd.sock', false],
    ['/agent/_te\nmp/buildkitd.sock', false],
    ['/agent/my temp/buildkitd.sock', false],
    [`/${'a'.repeat(90)}/buildkitd.sock`, false],
  ];
  for (const [socket, safe] of table) {
    it(`${JSON.stringify(socket.slice(0, 40))}: ${safe ? 'safe' : 'not safe'}`, () => {
      assert.equal(isSafeSocketPath(socket), safe);
    });
  }
});

describe('job daemon: what a dead daemon left behind (pure)', () => {
  const root = '/t/buildkitd-x/root';
  it('keeps the containers whose bundle is under the daemon root, whatever else runc runs', () => {
    const list = JSON.stringify([
      { id: 'a1', pid: 10, status: 'running', bundle: `${root}/runc-overlayfs/executor/a1` },
      {
        id: 'sys',
        pid: 11,
        status: 'running',
        bundle: '/run/containerd/io.containerd.runtime.v2.task/k8s.io/sys',
      },
      { id: 'b2', pid: 0, status: 'stopped', bundle: `${root}/runc-native/executor/b2` },
      { id: 'near', pid: 12, status: 'running', bundle: '/t/buildkitd-x/root2/executor/near' },
    ]);
    assert.deepEqual(containersUnder(list, root), [
      { id: 'a1', bundle: `${root}/runc-overlayfs/executor/a1` },
      { id: 'b2', bundle: `${root}/runc-native/executor/b2` },
    ]);
    assert.deepEqual(containersUnder('null', root), []);
    assert.deepEqual(containersUnder('garbage', root), []);
  });

  it('lists the mounts below the job directory from mountinfo, escapes undone, deepest first', () => {
    const mountinfo = [
      '22 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw',
      `90 22 0:50 / /t/buildkitd-x/root/runc-overlayfs/executor/a1/rootfs rw - overlay overlay rw,lowerdir=/l`,
      `91 90 0:51 / /t/buildkitd-x/root/runc-overlayfs/executor/a1/rootfs/proc rw - proc proc rw`,
      `92 22 0:52 / /t/buildkitd-x/root/runc-overlayfs/executor/my\\040step/rootfs rw - tmpfs t rw`,
      `93 22 0:53 / /t/buildkitd-xy/root rw - tmpfs t rw`,
    ].join('\n');
    assert.deepEqual(mountsUnder(mountinfo, '/t/buildkitd-x'), [
      '/t/buildkitd-x/root/runc-overlayfs/executor/a1/rootfs/proc',
      '/t/buildkitd-x/root/runc-overlayfs/executor/my step/rootfs',
      '/t/buildkitd-x/root/runc-overlayfs/executor/a1/rootfs',
    ]);
  });

  it('the fake runc answers list as runc does: null when there is no container', () => {
    const runc = path.join(repoRoot, 'tests', 'fixtures', 'fake-buildkitd', 'bin', 'buildkit-runc');
    const run = spawnSync(runc, ['--root', '/nonexistent-bkb-runc-root', 'list', '--format', 'json'], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH },
    });
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout.trim(), 'null');
  });
});
