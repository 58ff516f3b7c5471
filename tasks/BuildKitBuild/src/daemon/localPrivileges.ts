/** The capability sets of a process, from the CapEff and CapBnd lines of /proc/<pid>/status. */
export interface Capabilities {
  readonly effective: bigint;
  readonly bounding: bigint;
}

/** CAP_SYS_ADMIN (linux/capability.h): mount(2), which a root buildkitd needs for every build step. */
export const CAP_SYS_ADMIN = 21n;

/** Pure: the capability sets in a /proc/<pid>/status text; undefined when it has none (not Linux). */
export function parseCapabilities(status: string): Capabilities | undefined {
  const field = (name: string): bigint | undefined => {
    const hex = new RegExp(`^${name}:\\s*([0-9a-f]+)\\s*$`, 'im').exec(status)?.[1];
    return hex === undefined ? undefined : BigInt(`0x${hex}`);
  };
  const effective = field('CapEff');
  const bounding = field('CapBnd');
  return effective === undefined || bounding === undefined ? undefined : { effective, bounding };
}

export function hasCapability(set: bigint, capability: bigint): boolean {
  return ((set >> capability) & 1n) === 1n;
}

/**
 * Pure: can a root daemon mount? As root (uid 0) the task's own effective set says; through sudo the
 * bounding set does, since no process below the task can gain a capability outside it. Unknown
 * capabilities (no /proc) are given the benefit of the doubt.
 */
export function rootCanMount(capabilities: Capabilities | undefined, throughSudo: boolean): boolean {
  if (capabilities === undefined) return true;
  return hasCapability(throughSudo ? capabilities.bounding : capabilities.effective, CAP_SYS_ADMIN);
}
