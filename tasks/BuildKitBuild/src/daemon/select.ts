import * as fs from 'node:fs';
import * as path from 'node:path';
import { throwIfCancelled } from '../core/cancellation';
import { childEnvironments, type ChildEnvironments } from '../process/childEnvironment';
import type { RunContext } from '../core/context';
import { secondsVariable } from '../core/secondsVariable';
import type { Buildctl } from '../tool/install';
import type { SelectedDaemon } from './flags';
import { defaultLocalDeps, startLocalDaemon } from './local';
import { preflightMessage, runPreflight, type PreflightOutcome } from './preflight';
import { rendezvousOrder } from './rendezvous';
import type { DaemonSpec } from '../buildInputs/spec';
import type { DaemonTls } from '../core/daemonTls';

export type { SelectedDaemon } from './flags';

/** buildctl's default address, and the rootless buildkitd's socket under XDG_RUNTIME_DIR. */
export const DEFAULT_SOCKET = '/run/buildkit/buildkitd.sock';

/** Pre-flight timeout unless the pipeline variable BuildKitBuild.PreflightTimeoutSeconds says otherwise. */
export const DEFAULT_PREFLIGHT_TIMEOUT_SECONDS = 20;

/** The edges selectDaemon talks to; tests replace them. */
export interface DaemonDeps {
  preflight(
    address: string,
    tls: DaemonTls,
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<PreflightOutcome>;
  /** True when `file` exists and is a unix socket. */
  isSocket(file: string): boolean;
  startLocalDaemon(signal: AbortSignal): Promise<SelectedDaemon>;
}

export function defaultDaemonDeps(
  buildctl: Buildctl,
  ctx: RunContext,
  children: ChildEnvironments,
): DaemonDeps {
  return {
    preflight: (address, tls, timeoutMs, signal) =>
      runPreflight({ buildctlPath: buildctl.path, address, tls, env: children.buildctl, timeoutMs, signal }),
    isSocket: (file) => {
      try {
        return fs.statSync(file).isSocket();
      } catch {
        return false;
      }
    },
    startLocalDaemon: (signal) =>
      startLocalDaemon(buildctl, ctx, signal, defaultLocalDeps(buildctl, ctx, children)),
  };
}

/** Candidate default sockets, buildctl's own first, then the rootless daemon's. */
export function defaultSockets(env: Readonly<Record<string, string | undefined>>): string[] {
  const sockets = [DEFAULT_SOCKET];
  const runtimeDir = env.XDG_RUNTIME_DIR;
  if (runtimeDir !== undefined && runtimeDir !== '') {
    sockets.push(path.posix.join(runtimeDir, 'buildkit', 'buildkitd.sock'));
  }
  return sockets;
}

const remote = (address: string, tls: DaemonTls): SelectedDaemon => ({
  address,
  tls,
  dispose: () => Promise.resolve(),
});

/**
 * Chooses the daemon: the buildkitAddress lines in rendezvous order of the image's repository, the first that
 * passes its pre-flight check (`buildctl debug workers`); with no address, BUILDKIT_HOST, else a daemon
 * on buildctl's default socket, else one started for this job.
 */
export async function selectDaemon(
  daemon: DaemonSpec,
  repository: string,
  buildctl: Buildctl,
  ctx: RunContext,
  signal: AbortSignal,
  deps: DaemonDeps = defaultDaemonDeps(buildctl, ctx, childEnvironments(ctx, daemon.addresses)),
): Promise<SelectedDaemon> {
  throwIfCancelled(signal);
  const timeoutSeconds = secondsVariable(
    ctx,
    'BuildKitBuild.PreflightTimeoutSeconds',
    DEFAULT_PREFLIGHT_TIMEOUT_SECONDS,
  );
  const tls = daemon.tls;
  const check = async (address: string): Promise<string | undefined> => {
    const outcome = await deps.preflight(address, tls, timeoutSeconds * 1000, signal);
    throwIfCancelled(signal);
    if (outcome.ok) {
      const platforms = outcome.platforms.length > 0 ? outcome.platforms.join(', ') : '?';
      ctx.log.info(ctx.loc('DaemonUsing', address, platforms));
      return undefined;
    }
    return preflightMessage(outcome, address, tls, timeoutSeconds, ctx);
  };

  const endGroup = ctx.log.group(ctx.loc('DaemonGroup'));
  try {
    const addresses = daemon.addresses;
    if (addresses.length > 0) {
      const ordered = rendezvousOrder(addresses, repository);
      if (ordered.length > 1) ctx.log.info(ctx.loc('DaemonOrder', repository, ordered.join(', ')));
      const failures: string[] = [];
      for (const address of ordered) {
        const problem = await check(address);
        if (problem === undefined) return remote(address, tls);
        failures.push(problem);
        if (ordered.length > 1) ctx.log.warning(ctx.loc('DaemonSkipped', address, problem));
      }
      throw new Error(
        failures.length === 1
          ? (failures[0] ?? '')
          : ctx.loc('DaemonNoneAvailable', failures.length, failures.map((f) => `- ${f}`).join('\n')),
      );
    }

    const fromEnvironment = ctx.env.BUILDKIT_HOST?.trim();
    if (fromEnvironment !== undefined && fromEnvironment !== '') {
      ctx.log.info(ctx.loc('DaemonFromEnvironment', fromEnvironment));
      const problem = await check(fromEnvironment);
      if (problem !== undefined) throw new Error(problem);
      return remote(fromEnvironment, tls);
    }

    const sockets = defaultSockets(ctx.env);
    for (const socket of sockets.filter((s) => deps.isSocket(s))) {
      const address = `unix://${socket}`;
      const problem = await check(address);
      if (problem === undefined) {
        ctx.log.info(ctx.loc('DaemonDefaultSocket', address));
        return remote(address, tls);
      }
      ctx.log.warning(ctx.loc('DaemonSkipped', address, problem));
    }
    ctx.log.info(ctx.loc('DaemonStartingLocal', sockets.join(', ')));
  } finally {
    endGroup();
  }
  const local = await deps.startLocalDaemon(signal);
  ctx.log.info(ctx.loc('DaemonUsingLocal', local.address));
  return local;
}
