import * as path from 'node:path';
import { cancelledBy, throwIfCancelled } from '../core/cancellation';
import { agentTempDirectory } from '../core/agentTemp';
import { childEnvironments, type ChildEnv, type ChildEnvironments } from '../process/childEnvironment';
import { secondsVariable } from '../core/secondsVariable';
import type { RunContext } from '../core/context';
import type { Buildctl } from '../tool/install';
import { findOnPath } from '../tool/locate';
import { NO_TLS, type SelectedDaemon } from './flags';
import { findLocalBinaries, passwordlessSudo, readIfPresent, runHelper } from './localHost';
import {
  chooseLocalMode,
  daemonCommand,
  looksLikeUserNamespaceFailure,
  unixAddress,
  userNamespacesFrom,
  type HostFacts,
  type LocalLayout,
  type LocalMode,
  type UserNamespaceFacts,
} from './localMode';
import { cleanUpLeftovers, type PrivilegedRun } from './localCleanup';
import { DAEMON_FLAGS_VARIABLE, displayFlags, parseDaemonFlags, type DaemonFlagsProblem } from './localFlags';
import { parseCapabilities, rootCanMount, type Capabilities } from './localPrivileges';
import { startDaemonProcess, type DaemonExit, type DaemonProcess, type PrivilegedKill } from './localProcess';
import { createLayout, removeLayout } from './localState';
import { buildctlProbe, waitUntilReady, type ReadinessProbe } from './localWait';

/** The edges of the local daemon; tests replace them. */
export interface LocalDaemonDeps {
  readonly uid: number | undefined;
  readonly gid: number | undefined;
  findOnPath(tool: string): string | undefined;
  /** sudo's path when passwordless sudo works. */
  sudo(signal: AbortSignal): Promise<string | undefined>;
  userNamespaces(): UserNamespaceFacts;
  readonly probe: ReadinessProbe;
  readonly startTimeoutMs: number;
  readonly probeTimeoutMs: number;
  readonly stopGraceMs: number;
  /** The daemon's environment (the agent's proxy, no OpenTelemetry variables). */
  readonly daemonEnv: ChildEnv;
  /** Names of the proxy variables in daemonEnv, which sudo must be asked to keep. */
  readonly proxyVariables: readonly string[];
  /** The task's capability sets (/proc/self/status); undefined when unknown. */
  capabilities(): Capabilities | undefined;
  /** The task's /proc/self/mountinfo ('' when unreadable). */
  mountinfo(): string;
}

/** Pipeline variable bounding the wait for the daemon, in seconds. */
export const startTimeoutVariable = 'BuildKitBuild.LocalDaemonStartTimeout';
const defaultStartTimeoutSeconds = 60;

export function defaultLocalDeps(
  buildctl: Buildctl,
  ctx: RunContext,
  children: ChildEnvironments = childEnvironments(ctx, []),
): LocalDaemonDeps {
  const lookup = (tool: string): string | undefined => findOnPath(tool, ctx.env, ctx.platform);
  // The readiness check must reach our socket and nothing else.
  const probeEnv = { ...children.buildctl, BUILDKIT_HOST: undefined };
  return {
    uid: process.getuid?.(),
    gid: process.getgid?.(),
    findOnPath: lookup,
    sudo: (signal) => passwordlessSudo(lookup('sudo'), ctx.env, signal),
    userNamespaces: () => userNamespacesFrom(readIfPresent),
    probe: buildctlProbe(buildctl.path, probeEnv, ctx.loc),
    startTimeoutMs: secondsVariable(ctx, startTimeoutVariable, defaultStartTimeoutSeconds) * 1000,
    probeTimeoutMs: 10_000,
    stopGraceMs: 10_000,
    daemonEnv: children.daemon,
    proxyVariables: Object.keys(children.proxy),
    capabilities: () => parseCapabilities(readIfPresent('/proc/self/status') ?? ''),
    mountinfo: () => readIfPresent('/proc/self/mountinfo') ?? '',
  };
}

async function hostFacts(ctx: RunContext, deps: LocalDaemonDeps, signal: AbortSignal): Promise<HostFacts> {
  const root = deps.uid === 0;
  const sudo = root ? undefined : await deps.sudo(signal);
  const rootlesskit = root || sudo !== undefined ? undefined : deps.findOnPath('rootlesskit');
  const userNamespaces =
    rootlesskit === undefined ? { disabledBy: undefined, apparmorRestricted: false } : deps.userNamespaces();
  return { platform: ctx.platform, uid: deps.uid, sudo, rootlesskit, userNamespaces };
}

function logMode(mode: LocalMode, facts: HostFacts, ctx: RunContext): void {
  const uid = String(facts.uid);
  switch (mode.kind) {
    case 'root':
      ctx.log.info(ctx.loc('LocalModeRoot'));
      return;
    case 'sudo':
      ctx.log.info(ctx.loc('LocalModeSudo', uid, mode.sudo));
      return;
    case 'rootless':
      ctx.log.info(ctx.loc('LocalModeRootless', mode.rootlesskit, uid));
      if (facts.userNamespaces.apparmorRestricted) ctx.log.warning(ctx.loc('LocalAppArmorRestricts'));
  }
}

/** Clean-up helpers for what the task may not do itself: a root daemon's files and pids, a userns' files. */
function privilegedHelpers(
  mode: LocalMode,
  ctx: RunContext,
): {
  kill: PrivilegedKill | undefined;
  remove: ((dir: string) => Promise<string | undefined>) | undefined;
  run: PrivilegedRun;
} {
  const direct: PrivilegedRun = (file, args) => runHelper(file, args, ctx.env, 60_000);
  const helper = async (file: string, args: string[]): Promise<string | undefined> => {
    const result = await direct(file, args);
    return result.ok ? undefined : result.output;
  };
  switch (mode.kind) {
    case 'root':
      return { kill: undefined, remove: undefined, run: direct };
    case 'sudo':
      return {
        kill: async (signal, pids) => {
          await helper(mode.sudo, ['-n', 'kill', '-s', signal, ...pids.map(String)]);
        },
        remove: (dir) => helper(mode.sudo, ['-n', 'rm', '-rf', '--', dir]),
        run: (file, args) => direct(mode.sudo, ['-n', file, ...args]),
      };
    case 'rootless':
      // Files owned by sub-IDs are removable only from inside a user namespace with the same mapping.
      return {
        kill: undefined,
        remove: (dir) => helper(mode.rootlesskit, ['rm', '-rf', '--', dir]),
        run: direct,
      };
  }
}

function flagsProblemText(problem: DaemonFlagsProblem, ctx: RunContext): string {
  switch (problem.kind) {
    case 'quote':
      return ctx.loc('LocalFlagsQuote');
    case 'trailing-backslash':
      return ctx.loc('LocalFlagsTrailingBackslash');
    case 'not-a-flag':
      return ctx.loc('LocalFlagsNotAFlag', problem.word);
    case 'reserved':
      return ctx.loc('LocalFlagsReserved', problem.flag);
  }
}

/** BUILDKITD_FLAGS (pipeline variable or environment), split and checked before anything starts. */
function daemonFlags(ctx: RunContext): string[] {
  const parsed = parseDaemonFlags(ctx.variable(DAEMON_FLAGS_VARIABLE));
  if ('problem' in parsed) {
    throw new Error(
      ctx.loc('LocalFlagsInvalid', DAEMON_FLAGS_VARIABLE, flagsProblemText(parsed.problem, ctx)),
    );
  }
  return parsed.flags;
}

function describeExit(exit: DaemonExit): string {
  if (exit.error !== undefined) return exit.error.message;
  return exit.signal !== null ? `signal ${exit.signal}` : `exit code ${String(exit.code)}`;
}

function logTail(daemon: DaemonProcess, ctx: RunContext): string {
  const lines = daemon.lastLines().filter((line) => line.trim() !== '');
  return lines.length > 0 ? lines.slice(-20).join('\n') : ctx.loc('LocalNoLogLines');
}

function startFailureHint(mode: LocalMode, lines: readonly string[], ctx: RunContext): string {
  if (mode.kind === 'rootless' && looksLikeUserNamespaceFailure(lines)) return ctx.loc('LocalHintRootless');
  return ctx.loc('LocalHintRemote');
}

/** What the clean-up needs to know about how the daemon ran. */
interface DaemonRun {
  readonly daemon: DaemonProcess;
  readonly layout: LocalLayout;
  readonly mode: LocalMode;
  readonly runc: string | undefined;
}

/**
 * Stops the daemon (once); then, also when it had died on its own, kills the build containers it left
 * and unmounts what is mounted below its directory; then removes its state (never through a mount).
 * Problems become warnings, never errors.
 */
function disposer(
  run: DaemonRun,
  helpers: ReturnType<typeof privilegedHelpers>,
  deps: LocalDaemonDeps,
  ctx: RunContext,
): () => Promise<void> {
  const { daemon, layout } = run;
  let done: Promise<void> | undefined;
  const dispose = async (): Promise<void> => {
    const exit = daemon.exit();
    if (exit === undefined) {
      ctx.log.info(ctx.loc('LocalStopping', String(daemon.pid)));
      const killed = await daemon.stop(deps.stopGraceMs);
      if (killed) ctx.log.warning(ctx.loc('LocalKilled', deps.stopGraceMs / 1000));
    }
    const leftovers = await cleanUpLeftovers({
      runc: run.runc,
      runcRoot: run.mode.kind === 'rootless' ? path.join(layout.runtimeDir, 'runc') : undefined,
      root: layout.root,
      base: layout.base,
      unmount: run.mode.kind !== 'rootless',
      run: helpers.run,
      mountinfo: () => deps.mountinfo(),
    });
    if (leftovers.containers.length > 0 || leftovers.unmounted.length > 0) {
      const ended = daemon.exit();
      const how = ended === undefined ? ctx.loc('LocalNoExit') : describeExit(ended);
      ctx.log.warning(
        ctx.loc('LocalLeftoversCleaned', how, leftovers.containers.length, leftovers.unmounted.length),
      );
    }
    for (const problem of leftovers.problems) ctx.log.debug(`buildkitd clean-up: ${problem}`);
    if (leftovers.stillMounted.length > 0) {
      ctx.log.warning(ctx.loc('LocalStillMounted', layout.base, leftovers.stillMounted.join(', ')));
      return;
    }
    for (const left of await removeLayout(layout, helpers.remove)) {
      ctx.log.warning(ctx.loc('LocalStateLeft', left.dir, left.reason));
    }
  };
  return () => (done ??= dispose());
}

/**
 * Starts a buildkitd for this job only, on a private unix socket under Agent.TempDirectory, and waits
 * until it answers. dispose() stops it and removes its state.
 */
export async function startLocalDaemon(
  buildctl: Buildctl,
  ctx: RunContext,
  signal: AbortSignal,
  deps: LocalDaemonDeps = defaultLocalDeps(buildctl, ctx),
): Promise<SelectedDaemon> {
  throwIfCancelled(signal);
  if (ctx.platform !== 'linux') throw new Error(ctx.loc('LocalUnsupportedPlatform', ctx.platform));
  const binaries = findLocalBinaries(buildctl, (tool) => deps.findOnPath(tool));
  if ('searched' in binaries) {
    throw new Error(ctx.loc('LocalBuildkitdMissing', binaries.searched.join(', ')));
  }
  const flags = daemonFlags(ctx);
  const facts = await hostFacts(ctx, deps, signal);
  throwIfCancelled(signal);
  const decision = chooseLocalMode(facts);
  if (!decision.ok) {
    if (decision.missing === 'userNamespaces') {
      throw new Error(
        ctx.loc('LocalNoUserNamespaces', String(facts.uid), facts.userNamespaces.disabledBy ?? ''),
      );
    }
    throw new Error(ctx.loc('LocalNoPrivileges', String(facts.uid)));
  }
  const mode = decision.mode;
  if (mode.kind !== 'rootless' && !rootCanMount(deps.capabilities(), mode.kind === 'sudo')) {
    throw new Error(ctx.loc('LocalRootCannotMount', mode.kind === 'sudo' ? `sudo (${mode.sudo})` : 'uid 0'));
  }
  logMode(mode, facts, ctx);
  if (binaries.found.runc === undefined) {
    ctx.log.warning(ctx.loc('LocalRuncMissing', path.dirname(binaries.found.buildkitd)));
  }

  if (flags.length > 0) ctx.log.info(ctx.loc('LocalDaemonFlags', DAEMON_FLAGS_VARIABLE, displayFlags(flags)));

  const layout = createLayout(agentTempDirectory(ctx));
  const helpers = privilegedHelpers(mode, ctx);
  const command = daemonCommand(mode, binaries.found, layout, deps.gid, {
    path: ctx.env.PATH,
    preserve: deps.proxyVariables,
    flags,
  });
  ctx.log.debug(`buildkitd: ${[command.file, ...command.args].join(' ')}`);
  const daemon = startDaemonProcess(
    command,
    deps.daemonEnv,
    (line) => {
      ctx.log.debug(`buildkitd: ${line}`);
    },
    helpers.kill,
  );
  const dispose = disposer({ daemon, layout, mode, runc: binaries.found.runc }, helpers, deps, ctx);
  const address = unixAddress(layout.socket);
  if (daemon.pid !== undefined) {
    ctx.log.info(
      ctx.loc('LocalStarted', String(daemon.pid), address, layout.base, deps.startTimeoutMs / 1000),
    );
  }

  const started = Date.now();
  const outcome = await waitUntilReady({
    address,
    socket: layout.socket,
    probe: deps.probe,
    exit: () => daemon.exit(),
    exited: daemon.exited,
    timeoutMs: deps.startTimeoutMs,
    probeTimeoutMs: deps.probeTimeoutMs,
    signal,
  }).catch(async (error: unknown) => {
    await dispose();
    throw error;
  });
  if (outcome.kind === 'ready') {
    ctx.log.info(ctx.loc('LocalReady', ((Date.now() - started) / 1000).toFixed(1)));
    ctx.log.debug(outcome.output);
    return { address, tls: NO_TLS, dispose };
  }
  const tail = logTail(daemon, ctx);
  const lines = daemon.lastLines();
  await dispose();
  switch (outcome.kind) {
    case 'cancelled':
      throw cancelledBy(signal);
    case 'exited':
      if (outcome.exit.error !== undefined) {
        throw new Error(
          ctx.loc('LocalSpawnFailed', command.file, outcome.exit.error.message, ctx.loc('LocalHintRemote')),
        );
      }
      throw new Error(
        ctx.loc('LocalExited', describeExit(outcome.exit), tail, startFailureHint(mode, lines, ctx)),
      );
    case 'timeout':
      throw new Error(
        ctx.loc(
          'LocalStartTimeout',
          address,
          deps.startTimeoutMs / 1000,
          outcome.lastProbe ?? ctx.loc('LocalNoSocket', layout.socket),
          tail,
          startTimeoutVariable,
        ),
      );
  }
}
