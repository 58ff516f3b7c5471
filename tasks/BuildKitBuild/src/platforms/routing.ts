import { rendezvousOrder } from '../daemon/rendezvous';

/** One reachable daemon as the pre-flight check saw it. */
export interface DaemonOffer {
  readonly address: string;
  /** Worker platforms from `buildctl debug workers`, the daemon's native one first. */
  readonly workerPlatforms: readonly string[];
  /** Platforms named after the address on its buildkitAddress line; empty: the first worker platform. */
  readonly declared: readonly string[];
}

/** Where one platform is built: the first daemon, then the others of its group as fail-over. */
export interface PlatformRoute {
  readonly platform: string;
  readonly daemons: readonly string[];
  /** False when no daemon serves the platform natively and BuildKit emulates it (QEMU). */
  readonly native: boolean;
}

export type RoutingPlan =
  /** One build on one daemon, as without routing (BuildKit's own multi-platform build). */
  | { readonly kind: 'single' }
  /** One build per platform, each on its own daemon. */
  | { readonly kind: 'split'; readonly routes: readonly PlatformRoute[] }
  /** Platforms no daemon can build, natively or emulated. */
  | { readonly kind: 'unserved'; readonly platforms: readonly string[] };

/**
 * Pure: containerd's normalised form (its platforms package), so that two spellings of one platform
 * match: `linux/arm64/v8` and `linux/aarch64` are `linux/arm64`, `linux/arm` is `linux/arm/v7`,
 * `linux/x86_64` and `linux/amd64/v1` are `linux/amd64`, `linux/i386` is `linux/386`.
 */
export function normalizePlatform(platform: string): string {
  const [os = '', rawArch = '', rawVariant] = platform.toLowerCase().split('/');
  let arch = rawArch;
  let variant = rawVariant;
  if (arch === 'aarch64' || arch === 'arm64') {
    arch = 'arm64';
    if (variant === '8' || variant === 'v8' || variant === 'v8.0') variant = undefined;
    else if (variant === '9' || variant === '9.0' || variant === 'v9.0') variant = 'v9';
  } else if (arch === 'armhf') {
    arch = 'arm';
    variant = 'v7';
  } else if (arch === 'armel') {
    arch = 'arm';
    variant = 'v6';
  } else if (arch === 'arm') {
    if (variant === undefined || variant === '' || variant === '7') variant = 'v7';
    else if (variant === '5' || variant === '6' || variant === '8') variant = `v${variant}`;
  } else if (arch === 'x86_64' || arch === 'amd64') {
    arch = 'amd64';
    if (variant === 'v1') variant = undefined;
  } else if (arch === 'i386') arch = '386';
  return variant === undefined || variant === '' ? `${os}/${arch}` : `${os}/${arch}/${variant}`;
}

/** Pure: whether a daemon offers any platform: worker platforms, or platforms named on its line. */
export function offersPlatforms(offer: DaemonOffer): boolean {
  return offer.workerPlatforms.length > 0 || offer.declared.length > 0;
}

/** Pure: the platforms a daemon builds natively: those on its line, else its first worker platform. */
export function nativePlatforms(offer: DaemonOffer): string[] {
  const native = offer.declared.length > 0 ? offer.declared : offer.workerPlatforms.slice(0, 1);
  return native.map(normalizePlatform);
}

/**
 * Pure: routes each requested platform to the daemons that build it natively (rendezvous order of the
 * repository within that group: the first builds, the others are fail-over), else to the daemons that
 * list it among their worker platforms (emulated). With fewer than two platforms, or when every reachable
 * daemon has the same native platforms, the plan is today's single build.
 */
export function planRoutes(
  answered: readonly DaemonOffer[],
  requested: readonly string[],
  repository: string,
): RoutingPlan {
  // A daemon without worker platforms builds nothing: it neither serves a platform nor makes a split.
  const offers = answered.filter(offersPlatforms);
  // Two spellings of one platform are one build: the first spelling names it.
  const distinct = requested.filter(
    (p, i) => requested.findIndex((q) => normalizePlatform(q) === normalizePlatform(p)) === i,
  );
  if (distinct.length < 2 || offers.length === 0) return { kind: 'single' };
  const natives = offers.map((offer) => nativePlatforms(offer).sort().join(','));
  if (new Set(natives).size < 2) return { kind: 'single' };
  const routes: PlatformRoute[] = [];
  const unserved: string[] = [];
  for (const platform of distinct) {
    const wanted = normalizePlatform(platform);
    const native = offers.filter((o) => nativePlatforms(o).includes(wanted)).map((o) => o.address);
    if (native.length > 0) {
      routes.push({ platform, daemons: rendezvousOrder(native, repository), native: true });
      continue;
    }
    const emulated = offers
      .filter((o) => o.workerPlatforms.map(normalizePlatform).includes(wanted))
      .map((o) => o.address);
    if (emulated.length > 0)
      routes.push({ platform, daemons: rendezvousOrder(emulated, repository), native: false });
    else unserved.push(platform);
  }
  return unserved.length > 0 ? { kind: 'unserved', platforms: unserved } : { kind: 'split', routes };
}

/** Pure: `tcp://a:1234 (native linux/arm64; workers linux/arm64, linux/arm/v7)` for an error message. */
export function describeOffer(offer: DaemonOffer): string {
  const workers = offer.workerPlatforms.length > 0 ? offer.workerPlatforms.join(', ') : '-';
  return `${offer.address} (native ${nativePlatforms(offer).join(', ') || '-'}; workers ${workers})`;
}
