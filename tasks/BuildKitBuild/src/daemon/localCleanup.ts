import * as path from 'node:path';

/**
 * What a job daemon can leave behind when it dies without cleaning up (the OOM killer): BuildKit's OCI
 * worker runs each build step as `runc run --bundle <root>/runc-<snapshotter>/executor/<id> <id>` with the
 * step's root file system mounted at `<bundle>/rootfs`, and runc keeps the container's state under its
 * default state root (/run/runc as root, $XDG_RUNTIME_DIR/runc rootless). runc is started with a parent
 * death signal, the container is not: the step goes on running, its rootfs stays mounted.
 */

/** A container that runc still knows about. */
export interface LeftContainer {
  readonly id: string;
  readonly bundle: string;
}

function isWithin(file: string, dir: string): boolean {
  const relative = path.relative(dir, file);
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
}

/** Pure: the containers in `runc list --format json` output whose bundle lies under `root`. */
export function containersUnder(listJson: string, root: string): LeftContainer[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(listJson);
  } catch {
    return [];
  }
  if (!Array.isArray(parsed)) return [];
  const found: LeftContainer[] = [];
  for (const entry of parsed as unknown[]) {
    if (typeof entry !== 'object' || entry === null) continue;
    const { id, bundle } = entry as { id?: unknown; bundle?: unknown };
    if (typeof id === 'string' && typeof bundle === 'string' && isWithin(bundle, root)) {
      found.push({ id, bundle });
    }
  }
  return found;
}

/** Undoes the octal escapes of /proc/<pid>/mountinfo (`\040` for a space, `\012` for a newline, ...). */
function unescapeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_whole, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/** Pure: the mount points in a /proc/<pid>/mountinfo text that lie under `dir` (or are it), deepest first. */
export function mountsUnder(mountinfo: string, dir: string): string[] {
  const points: string[] = [];
  for (const line of mountinfo.split('\n')) {
    const field = line.split(' ')[4];
    if (field === undefined) continue;
    const point = unescapeMountField(field);
    if (isWithin(point, dir) && !points.includes(point)) points.push(point);
  }
  // Later mounts may sit on earlier ones: unmount in reverse order of mounting, deepest first.
  return points.reverse().sort((a, b) => b.split('/').length - a.split('/').length);
}

/** Runs a clean-up command with the daemon's privileges (directly, through sudo, ...). */
export type PrivilegedRun = (
  file: string,
  args: readonly string[],
) => Promise<{ ok: boolean; output: string }>;

export interface CleanupPlan {
  /** runc as the daemon ran it; undefined: the daemon had none, so it ran no container. */
  readonly runc: string | undefined;
  /** runc's state root when it is not runc's default (rootless: $XDG_RUNTIME_DIR/runc). */
  readonly runcRoot: string | undefined;
  /** buildkitd --root: containers and mounts below it are the job's. */
  readonly root: string;
  /** The job's whole private directory: no mount may remain below it before it is removed. */
  readonly base: string;
  /** Whether the daemon's mounts are visible here (root and sudo: the task's mount namespace). */
  readonly unmount: boolean;
  readonly run: PrivilegedRun;
  readonly mountinfo: () => string;
}

export interface CleanupResult {
  /** Containers killed and deleted. */
  readonly containers: readonly string[];
  /** Mount points unmounted. */
  readonly unmounted: readonly string[];
  /** Mount points still there: the directory must not be removed (it would reach into them). */
  readonly stillMounted: readonly string[];
  /** What went wrong on the way, for a warning. */
  readonly problems: readonly string[];
}

/**
 * Kills and deletes the runc containers of the job's daemon (`runc delete --force` kills every process of
 * the container), then unmounts what is still mounted below its directory, deepest first. Runs after the
 * daemon has stopped or died; finds nothing when it cleaned up after itself.
 */
export async function cleanUpLeftovers(plan: CleanupPlan): Promise<CleanupResult> {
  const problems: string[] = [];
  const containers: string[] = [];
  if (plan.runc !== undefined) {
    const global = plan.runcRoot === undefined ? [] : ['--root', plan.runcRoot];
    const listed = await plan.run(plan.runc, [...global, 'list', '--format', 'json']);
    if (!listed.ok) problems.push(`runc list: ${listed.output}`);
    for (const container of listed.ok ? containersUnder(listed.output, plan.root) : []) {
      const deleted = await plan.run(plan.runc, [...global, 'delete', '--force', container.id]);
      if (deleted.ok) containers.push(container.id);
      else problems.push(`runc delete --force ${container.id}: ${deleted.output}`);
    }
  }
  const unmounted: string[] = [];
  if (plan.unmount) {
    for (const point of mountsUnder(plan.mountinfo(), plan.base)) {
      const plain = await plan.run('umount', [point]);
      // Still busy (a process outside runc's reach): detach it so that nothing below is reached through it.
      const done = plain.ok || (await plan.run('umount', ['--lazy', point])).ok;
      if (done) unmounted.push(point);
      else problems.push(`umount ${point}: ${plain.output}`);
    }
  }
  const stillMounted = plan.unmount ? mountsUnder(plan.mountinfo(), plan.base) : [];
  return { containers, unmounted, stillMounted, problems };
}
