import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { findLocalBinaries } from '../../tasks/BuildKitBuild/src/daemon/localHost';
import {
  chooseLocalMode,
  daemonCommand,
  looksLikeUserNamespaceFailure,
  userNamespacesFrom,
  type HostFacts,
  type LocalLayout,
  type ModeDecision,
} from '../../tasks/BuildKitBuild/src/daemon/localMode';
import { createLayout } from '../../tasks/BuildKitBuild/src/daemon/localState';
import { fakeBuildkitdBin, fakeBuildkitdPath, tempDir } from './localFixtures';

const enabled = { disabledBy: undefined, apparmorRestricted: false };
const base: HostFacts = {
  platform: 'linux',
  uid: 1001,
  sudo: undefined,
  rootlesskit: undefined,
  userNamespaces: enabled,
};

describe('local daemon: mode selection (pure)', () => {
  const rows: [string, Partial<HostFacts>, ModeDecision][] = [
    ['root runs it as root', { uid: 0 }, { ok: true, mode: { kind: 'root' } }],
    [
      'root wins over sudo and rootlesskit',
      { uid: 0, sudo: '/usr/bin/sudo', rootlesskit: '/usr/bin/rootlesskit' },
      { ok: true, mode: { kind: 'root' } },
    ],
    [
      'passwordless sudo runs it as root',
      { sudo: '/usr/bin/sudo', rootlesskit: '/usr/bin/rootlesskit' },
      { ok: true, mode: { kind: 'sudo', sudo: '/usr/bin/sudo' } },
    ],
    [
      'no sudo: rootless through rootlesskit',
      { rootlesskit: '/usr/bin/rootlesskit' },
      { ok: true, mode: { kind: 'rootless', rootlesskit: '/usr/bin/rootlesskit' } },
    ],
    [
      'AppArmor restriction alone does not rule rootless out',
      { rootlesskit: '/r', userNamespaces: { disabledBy: undefined, apparmorRestricted: true } },
      { ok: true, mode: { kind: 'rootless', rootlesskit: '/r' } },
    ],
    ['neither sudo nor rootlesskit: privileges missing', {}, { ok: false, missing: 'privileges' }],
    [
      'user namespaces disabled: rootless impossible',
      {
        rootlesskit: '/r',
        userNamespaces: { disabledBy: 'user.max_user_namespaces=0', apparmorRestricted: false },
      },
      { ok: false, missing: 'userNamespaces' },
    ],
    [
      'user namespaces do not matter with sudo',
      { sudo: '/s', userNamespaces: { disabledBy: 'user.max_user_namespaces=0', apparmorRestricted: false } },
      { ok: true, mode: { kind: 'sudo', sudo: '/s' } },
    ],
    ['macOS: no local daemon', { platform: 'darwin', uid: 0 }, { ok: false, missing: 'platform' }],
    ['Windows: no local daemon', { platform: 'win32', uid: undefined }, { ok: false, missing: 'platform' }],
  ];
  for (const [name, facts, expected] of rows) {
    it(name, () => {
      assert.deepEqual(chooseLocalMode({ ...base, ...facts }), expected);
    });
  }
});

describe('local daemon: command line (pure)', () => {
  const layout: LocalLayout = {
    base: '/t/buildkitd-x',
    socket: '/t/buildkitd-x/buildkitd.sock',
    socketDir: undefined,
    root: '/t/buildkitd-x/root',
    rootlesskitState: '/t/buildkitd-x/rootlesskit',
    runtimeDir: '/t/buildkitd-x/run',
  };
  const binaries = { buildkitd: '/bk/bin/buildkitd', runc: '/bk/bin/buildkit-runc' };
  const daemonArgs = [
    '--addr',
    'unix:///t/buildkitd-x/buildkitd.sock',
    '--root',
    '/t/buildkitd-x/root',
    '--oci-worker=true',
    '--oci-worker-binary',
    '/bk/bin/buildkit-runc',
  ];
  const plain = { path: '/usr/bin:/bin', preserve: [], flags: [] };

  it('root: buildkitd itself on the private socket with its state under the job, its bin/ first on PATH', () => {
    assert.deepEqual(daemonCommand({ kind: 'root' }, binaries, layout, 0, plain), {
      file: '/bk/bin/buildkitd',
      args: daemonArgs,
      env: { PATH: '/bk/bin:/usr/bin:/bin' },
    });
  });

  it("sudo: sudo -n, PATH set again through env(1) after sudo's reset, the socket handed to the task group", () => {
    assert.deepEqual(daemonCommand({ kind: 'sudo', sudo: '/usr/bin/sudo' }, binaries, layout, 1001, plain), {
      file: '/usr/bin/sudo',
      args: [
        '-n',
        '/usr/bin/env',
        'PATH=/bk/bin:/usr/bin:/bin',
        '/bk/bin/buildkitd',
        ...daemonArgs,
        '--group',
        '1001',
      ],
      env: {},
    });
  });

  it('sudo: the proxy variables are kept by name (never their values on the command line)', () => {
    const command = daemonCommand({ kind: 'sudo', sudo: '/usr/bin/sudo' }, binaries, layout, 1001, {
      ...plain,
      preserve: ['HTTPS_PROXY', 'NO_PROXY'],
    });
    assert.deepEqual(command.args.slice(0, 3), ['-n', '--preserve-env=HTTPS_PROXY,NO_PROXY', '/usr/bin/env']);
  });

  it('rootless: rootlesskit with host network, its state under the job, no process sandbox', () => {
    assert.deepEqual(
      daemonCommand({ kind: 'rootless', rootlesskit: '/usr/bin/rootlesskit' }, binaries, layout, 1001, plain),
      {
        file: '/usr/bin/rootlesskit',
        args: [
          '--state-dir=/t/buildkitd-x/rootlesskit',
          '--net=host',
          '/bk/bin/buildkitd',
          ...daemonArgs,
          '--oci-worker-no-process-sandbox',
        ],
        env: { XDG_RUNTIME_DIR: '/t/buildkitd-x/run', PATH: '/bk/bin:/usr/bin:/bin' },
      },
    );
  });

  it('BUILDKITD_FLAGS come last, after the flags they may override, in every mode', () => {
    const flags = ['--allow-insecure-entitlement=network.host', '--oci-worker-snapshotter', 'native'];
    for (const mode of [
      { kind: 'root' as const },
      { kind: 'sudo' as const, sudo: '/usr/bin/sudo' },
      { kind: 'rootless' as const, rootlesskit: '/usr/bin/rootlesskit' },
    ]) {
      const command = daemonCommand(mode, binaries, layout, 1001, { ...plain, flags });
      assert.deepEqual(command.args.slice(-3), flags, mode.kind);
    }
  });

  it('leaves runc to buildkitd when none was found, which finds it on its PATH', () => {
    const command = daemonCommand(
      { kind: 'root' },
      { buildkitd: '/b/buildkitd', runc: undefined },
      layout,
      0,
      {
        ...plain,
        path: undefined,
      },
    );
    assert.ok(!command.args.includes('--oci-worker-binary'));
    assert.deepEqual(command.env, { PATH: '/b' });
  });
});

describe('local daemon: host facts', () => {
  it('reads disabled user namespaces from either sysctl', () => {
    const files = (entries: Record<string, string>) => (file: string) => entries[file];
    assert.deepEqual(userNamespacesFrom(files({})), { disabledBy: undefined, apparmorRestricted: false });
    assert.deepEqual(
      userNamespacesFrom(files({ '/proc/sys/user/max_user_namespaces': '0\n' })).disabledBy,
      'user.max_user_namespaces=0',
    );
    assert.deepEqual(
      userNamespacesFrom(
        files({
          '/proc/sys/user/max_user_namespaces': '63204\n',
          '/proc/sys/kernel/unprivileged_userns_clone': '0\n',
        }),
      ).disabledBy,
      'kernel.unprivileged_userns_clone=0',
    );
    assert.deepEqual(
      userNamespacesFrom(files({ '/proc/sys/kernel/apparmor_restrict_unprivileged_userns': '1\n' })),
      { disabledBy: undefined, apparmorRestricted: true },
    );
  });

  it('recognises a rootless start-up that failed for want of user namespaces', () => {
    assert.ok(
      looksLikeUserNamespaceFailure([
        '[rootlesskit:parent] error: failed to setup UID/GID map: newuidmap 4242 [0 1001 1 1 100000 65536] failed: exit status 1',
      ]),
    );
    assert.ok(
      !looksLikeUserNamespaceFailure(['level=fatal msg="failed to create worker: no space left on device"']),
    );
  });

  it('finds buildkitd and buildkit-runc in the release bin/ first', () => {
    const found = findLocalBinaries(
      { path: '/usr/local/bin/buildctl', version: '0.32.2', binDir: fakeBuildkitdBin },
      () => '/elsewhere/on/path',
    );
    assert.deepEqual(found, {
      found: { buildkitd: fakeBuildkitdPath, runc: path.join(fakeBuildkitdBin, 'buildkit-runc') },
    });
  });

  it('falls back to buildkitd beside buildctl, then on PATH, and says where it looked', () => {
    const empty = tempDir('bkb-local-empty-');
    const beside = findLocalBinaries(
      { path: path.join(fakeBuildkitdBin, 'buildctl'), version: '0.32.2', binDir: empty },
      () => undefined,
    );
    assert.ok('found' in beside && beside.found.buildkitd === fakeBuildkitdPath);
    const onPath = findLocalBinaries(
      { path: path.join(empty, 'buildctl'), version: '0.32.2', binDir: empty },
      (tool) => (tool === 'buildkitd' ? '/opt/bk/buildkitd' : tool === 'runc' ? '/usr/sbin/runc' : undefined),
    );
    assert.deepEqual(onPath, { found: { buildkitd: '/opt/bk/buildkitd', runc: '/usr/sbin/runc' } });
    const nowhere = findLocalBinaries(
      { path: path.join(empty, 'buildctl'), version: '0.32.2', binDir: empty },
      () => undefined,
    );
    assert.deepEqual(nowhere, { searched: [empty, 'PATH'] });
  });

  it('keeps the socket path short enough for a unix socket', () => {
    const deep = path.join(tempDir('bkb-local-deep-'), 'a'.repeat(60), 'b'.repeat(40));
    const systemTemp = tempDir('bkb-local-systmp-');
    const layout = createLayout(deep, systemTemp);
    assert.ok(layout.base.startsWith(deep));
    assert.ok(layout.socketDir?.startsWith(systemTemp), String(layout.socketDir));
    assert.ok(Buffer.byteLength(layout.socket) <= 100);
    assert.equal(fs.statSync(layout.base).mode & 0o777, 0o700);
    const shallow = createLayout(tempDir('bkb-local-short-'), systemTemp);
    assert.equal(shallow.socketDir, undefined);
    assert.equal(path.dirname(shallow.socket), shallow.base);
  });
});
