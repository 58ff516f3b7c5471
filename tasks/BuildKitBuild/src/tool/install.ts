import * as path from 'node:path';
import { throwIfCancelled } from '../cancellation';
import type { RunContext } from '../context';
import { findOnPath } from './locate';
import { probeBuildctlVersion, type VersionProbe } from './probe';
import type { ToolSpec } from './spec';

export interface Buildctl {
  /** Absolute path of the buildctl executable. */
  readonly path: string;
  /** Version it reports, e.g. `0.32.2`. */
  readonly version: string;
  /** Directory holding buildctl (and buildkitd, when it came from a release archive). */
  readonly binDir: string;
}

/** The edges resolveBuildctl talks to; tests replace them. */
export interface ResolveDeps {
  findOnPath(tool: string): string | undefined;
  probe(file: string, signal: AbortSignal): Promise<VersionProbe>;
}

export function defaultResolveDeps(ctx: RunContext): ResolveDeps {
  return {
    findOnPath: (tool) => findOnPath(tool, ctx.env, ctx.platform),
    probe: (file, signal) => probeBuildctlVersion(file, ctx.env, signal),
  };
}

async function fromPath(
  file: string,
  ctx: RunContext,
  deps: ResolveDeps,
  signal: AbortSignal,
): Promise<Buildctl> {
  let probe: VersionProbe;
  try {
    probe = await deps.probe(file, signal);
  } catch (error: unknown) {
    throwIfCancelled(signal);
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(ctx.loc('ToolPathBroken', file, reason), { cause: error });
  }
  if (probe.version === undefined) throw new Error(ctx.loc('ToolPathBroken', file, probe.output));
  ctx.log.info(ctx.loc('ToolFromPath', file, probe.version));
  return { path: file, version: probe.version, binDir: path.dirname(file) };
}

/** PATH, else tool cache, else download. (Issue 5 owns this module.) */
export async function resolveBuildctl(
  spec: ToolSpec,
  ctx: RunContext,
  signal: AbortSignal,
  deps: ResolveDeps = defaultResolveDeps(ctx),
): Promise<Buildctl> {
  throwIfCancelled(signal);
  if (spec.version === undefined) {
    const onPath = deps.findOnPath('buildctl');
    if (onPath !== undefined) return fromPath(onPath, ctx, deps, signal);
  }
  return Promise.reject(new Error(ctx.loc('NotImplemented')));
}
