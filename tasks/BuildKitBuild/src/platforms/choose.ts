import { throwIfCancelled } from '../core/cancellation';
import type { RunContext } from '../core/context';
import type { BuildInputs } from '../buildInputs/spec';
import type { DaemonTls } from '../core/daemonTls';
import { preflightMessage } from '../daemon/preflight';
import { rendezvousOrder } from '../daemon/rendezvous';
import {
  DEFAULT_PREFLIGHT_TIMEOUT_SECONDS,
  selectDaemon,
  type DaemonDeps,
  type SelectedDaemon,
} from '../daemon/select';
import { secondsVariable } from '../core/secondsVariable';
import type { Buildctl } from '../tool/install';
import { describeOffer, offersPlatforms, planRoutes, type DaemonOffer, type PlatformRoute } from './routing';

/** What the run builds on: one daemon (today's build), or one daemon per platform. */
export type DaemonChoice =
  | { readonly kind: 'single'; readonly daemon: SelectedDaemon }
  | { readonly kind: 'split'; readonly routes: readonly PlatformRoute[]; readonly tls: DaemonTls };

/** Whether the inputs may lead to a split build: two or more platforms and two or more daemons. */
export function mayRoute(inputs: BuildInputs): boolean {
  return inputs.platforms.length >= 2 && inputs.daemon.addresses.length >= 2;
}

/**
 * With several platforms and several daemons: pre-flights every daemon at once and routes each platform
 * to a daemon that builds it natively (else emulated, with a warning); daemons that are all of one
 * platform keep the single build. Otherwise: selectDaemon, as always.
 */
export async function chooseDaemons(
  inputs: BuildInputs,
  buildctl: Buildctl,
  ctx: RunContext,
  signal: AbortSignal,
  deps: DaemonDeps,
): Promise<DaemonChoice> {
  if (!mayRoute(inputs))
    return {
      kind: 'single',
      daemon: await selectDaemon(inputs.daemon, inputs.image.repository, buildctl, ctx, signal, deps),
    };
  const timeoutSeconds = secondsVariable(
    ctx,
    'BuildKitBuild.PreflightTimeoutSeconds',
    DEFAULT_PREFLIGHT_TIMEOUT_SECONDS,
  );
  const tls = inputs.daemon.tls;
  const endGroup = ctx.log.group(ctx.loc('MultiGroup'));
  try {
    const checks = await Promise.all(
      inputs.daemon.addresses.map(async (address) => ({
        address,
        outcome: await deps.preflight(address, tls, timeoutSeconds * 1000, signal),
      })),
    );
    throwIfCancelled(signal);
    const offers: DaemonOffer[] = [];
    const failures: string[] = [];
    for (const { address, outcome } of checks) {
      if (outcome.ok) {
        const offer = {
          address,
          workerPlatforms: outcome.platforms,
          declared: inputs.daemon.served?.[address] ?? [],
        };
        if (!offersPlatforms(offer)) {
          const problem = ctx.loc('MultiDaemonNoWorkers', address);
          failures.push(problem);
          ctx.log.warning(ctx.loc('DaemonSkipped', address, problem));
          continue;
        }
        offers.push(offer);
        ctx.log.info(ctx.loc('MultiDaemonOffers', describeOffer(offer)));
      } else {
        const problem = preflightMessage(outcome, address, tls, timeoutSeconds, ctx);
        failures.push(problem);
        ctx.log.warning(ctx.loc('DaemonSkipped', address, problem));
      }
    }
    if (offers.length === 0) {
      throw new Error(
        ctx.loc('DaemonNoneAvailable', failures.length, failures.map((f) => `- ${f}`).join('\n')),
      );
    }
    const plan = planRoutes(offers, inputs.platforms, inputs.image.repository);
    if (plan.kind === 'unserved') {
      throw new Error(
        ctx.loc(
          'MultiUnserved',
          plan.platforms.join(', '),
          offers.map((o) => `- ${describeOffer(o)}`).join('\n'),
        ),
      );
    }
    if (plan.kind === 'single') {
      const address = rendezvousOrder(
        offers.map((o) => o.address),
        inputs.image.repository,
      )[0];
      const chosen = offers.find((o) => o.address === address) ?? offers[0];
      if (chosen === undefined) throw new Error('no daemon');
      ctx.log.info(ctx.loc('MultiSingle', inputs.platforms.join(', '), chosen.address));
      ctx.log.info(ctx.loc('DaemonUsing', chosen.address, chosen.workerPlatforms.join(', ') || '?'));
      return { kind: 'single', daemon: { address: chosen.address, tls, dispose: () => Promise.resolve() } };
    }
    for (const route of plan.routes) {
      const [first = '', ...others] = route.daemons;
      const failover = others.length > 0 ? ctx.loc('MultiFailover', others.join(', ')) : '';
      if (route.native) ctx.log.info(ctx.loc('MultiRouteNative', route.platform, first, failover));
      else ctx.log.warning(ctx.loc('MultiRouteEmulated', route.platform, first));
    }
    return { kind: 'split', routes: plan.routes, tls };
  } finally {
    endGroup();
  }
}
