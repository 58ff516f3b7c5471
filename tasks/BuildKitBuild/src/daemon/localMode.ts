/**
 * How a job-scoped buildkitd is started: the choice of mode (pure, from facts about the host) and the
 * command line for that mode (pure, from the chosen mode, binaries and paths).
 */

/** What the kernel allows for unprivileged user namespaces (rootless mode needs them). */
export interface UserNamespaceFacts {
  /** The sysctl that disables them, e.g. `user.max_user_namespaces=0`; undefined when they look enabled. */
  readonly disabledBy: string | undefined;
  /** Ubuntu 23.10+ restricts them through AppArmor unless the binary has a profile: a hint, not a verdict. */
  readonly apparmorRestricted: boolean;
}

/** What mode selection looks at; gathered by the caller so that the choice itself is pure. */
export interface HostFacts {
  readonly platform: NodeJS.Platform;
  /** `process.getuid()`; undefined where there is none (Windows). */
  readonly uid: number | undefined;
  /** Absolute path of sudo when `sudo -n true` succeeded (only asked when not root). */
  readonly sudo: string | undefined;
  /** Absolute path of rootlesskit on PATH, when there is one. */
  readonly rootlesskit: string | undefined;
  readonly userNamespaces: UserNamespaceFacts;
}

export type LocalMode =
  | { readonly kind: 'root' }
  | { readonly kind: 'sudo'; readonly sudo: string }
  | { readonly kind: 'rootless'; readonly rootlesskit: string };

export type ModeDecision =
  | { readonly ok: true; readonly mode: LocalMode }
  | { readonly ok: false; readonly missing: 'platform' | 'privileges' | 'userNamespaces' };

/** Root when root, else passwordless sudo, else rootlesskit when user namespaces are not disabled. */
export function chooseLocalMode(facts: HostFacts): ModeDecision {
  if (facts.platform !== 'linux') return { ok: false, missing: 'platform' };
  if (facts.uid === 0) return { ok: true, mode: { kind: 'root' } };
  if (facts.sudo !== undefined) return { ok: true, mode: { kind: 'sudo', sudo: facts.sudo } };
  if (facts.rootlesskit === undefined) return { ok: false, missing: 'privileges' };
  if (facts.userNamespaces.disabledBy !== undefined) return { ok: false, missing: 'userNamespaces' };
  return { ok: true, mode: { kind: 'rootless', rootlesskit: facts.rootlesskit } };
}

/** Where one job-scoped daemon keeps everything; all of it below `base` except perhaps the socket. */
export interface LocalLayout {
  /** Private directory (0700) under Agent.TempDirectory; removed on dispose. */
  readonly base: string;
  /** The daemon's unix socket (short enough for sun_path). */
  readonly socket: string;
  /** A separate private directory holding the socket when `base` is too deep for a unix socket path. */
  readonly socketDir: string | undefined;
  /** buildkitd --root. */
  readonly root: string;
  /** rootlesskit --state-dir. */
  readonly rootlesskitState: string;
  /** XDG_RUNTIME_DIR for a rootless daemon (runc keeps its state there). */
  readonly runtimeDir: string;
}

export interface LocalBinaries {
  readonly buildkitd: string;
  /** buildkit-runc (or runc) to pass as --oci-worker-binary; undefined: buildkitd searches its PATH. */
  readonly runc: string | undefined;
}

export interface DaemonCommand {
  readonly file: string;
  readonly args: readonly string[];
  /** Variables added to the task's environment for the daemon. */
  readonly env: Readonly<Record<string, string>>;
}

/** What the daemon gets besides its mode, binaries and paths. */
export interface DaemonOptions {
  /** The task's PATH: the daemon's PATH is the directory of buildkitd, then this. */
  readonly path: string | undefined;
  /** Variables sudo must keep (the proxy): passed by name with --preserve-env, never on the command line. */
  readonly preserve: readonly string[];
  /** Flags from BUILDKITD_FLAGS, last so that they can override the task's defaults. */
  readonly flags: readonly string[];
}

/** `unix://` + absolute path, as buildctl --addr and buildkitd --addr take it. */
export function unixAddress(socket: string): string {
  return `unix://${socket}`;
}

/** Pure: the daemon's PATH: buildkitd's own directory first (runc and buildkit-qemu-* are found there). */
export function daemonPath(buildkitd: string, taskPath: string | undefined): string {
  const dir = buildkitd.slice(0, Math.max(buildkitd.lastIndexOf('/'), 1));
  const rest = (taskPath ?? '').split(':').filter((entry) => entry !== '' && entry !== dir);
  return [dir, ...rest].join(':');
}

/**
 * The command that starts buildkitd in `mode`. buildkitd enables its OCI worker only when runc or
 * buildkit-runc is on its PATH (whatever --oci-worker-binary says) and finds the buildkit-qemu-*
 * emulators only on PATH: its PATH starts with its own directory and --oci-worker=true is explicit.
 * - root: buildkitd itself.
 * - sudo: `sudo -n [--preserve-env=<proxy variables>] /usr/bin/env PATH=<path> buildkitd ... --group <gid>`:
 *   sudo resets the environment and PATH (secure_path), so PATH is set again through env(1), and the
 *   proxy, which may hold a password, is kept by name rather than written on the command line; --group
 *   lets the task's own group use the root-owned socket.
 * - rootless: `rootlesskit --state-dir=... --net=host buildkitd ... --oci-worker-no-process-sandbox`:
 *   host network so that the build reaches what the agent reaches, no process sandbox so that it also
 *   runs inside unprivileged agent containers where /proc cannot be mounted (the daemon serves this job only).
 */
export function daemonCommand(
  mode: LocalMode,
  binaries: LocalBinaries,
  layout: LocalLayout,
  gid: number | undefined,
  options: DaemonOptions,
): DaemonCommand {
  const daemonArgs = ['--addr', unixAddress(layout.socket), '--root', layout.root, '--oci-worker=true'];
  if (binaries.runc !== undefined) daemonArgs.push('--oci-worker-binary', binaries.runc);
  const path = daemonPath(binaries.buildkitd, options.path);
  switch (mode.kind) {
    case 'root':
      return { file: binaries.buildkitd, args: [...daemonArgs, ...options.flags], env: { PATH: path } };
    case 'sudo': {
      if (gid !== undefined) daemonArgs.push('--group', String(gid));
      const preserve = options.preserve.length > 0 ? [`--preserve-env=${options.preserve.join(',')}`] : [];
      return {
        file: mode.sudo,
        args: [
          '-n',
          ...preserve,
          '/usr/bin/env',
          `PATH=${path}`,
          binaries.buildkitd,
          ...daemonArgs,
          ...options.flags,
        ],
        env: {},
      };
    }
    case 'rootless':
      daemonArgs.push('--oci-worker-no-process-sandbox');
      return {
        file: mode.rootlesskit,
        args: [
          `--state-dir=${layout.rootlesskitState}`,
          '--net=host',
          binaries.buildkitd,
          ...daemonArgs,
          ...options.flags,
        ],
        env: { XDG_RUNTIME_DIR: layout.runtimeDir, PATH: path },
      };
  }
}

/** Reads the user-namespace sysctls (file path → content, undefined when absent). */
export function userNamespacesFrom(read: (file: string) => string | undefined): UserNamespaceFacts {
  const sysctls: [string, string][] = [
    ['/proc/sys/user/max_user_namespaces', 'user.max_user_namespaces=0'],
    ['/proc/sys/kernel/unprivileged_userns_clone', 'kernel.unprivileged_userns_clone=0'],
  ];
  const disabledBy = sysctls.find(([file]) => read(file)?.trim() === '0')?.[1];
  const apparmorRestricted = read('/proc/sys/kernel/apparmor_restrict_unprivileged_userns')?.trim() === '1';
  return { disabledBy, apparmorRestricted };
}

/** Log lines that show rootless start-up failed for want of user namespaces or sub-IDs. */
export function looksLikeUserNamespaceFailure(lines: readonly string[]): boolean {
  return lines.some((line) =>
    /newuidmap|newgidmap|subuid|subgid|uid_map|user namespace|userns|unshare|clone.*operation not permitted/i.test(
      line,
    ),
  );
}
