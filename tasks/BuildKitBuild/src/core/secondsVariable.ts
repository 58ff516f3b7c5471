import type { RunContext } from './context';

/**
 * A pipeline variable holding a positive number of seconds (`BuildKitBuild.*` tuning), in seconds; the
 * default when it is unset, and the default with a warning when it is not such a number.
 */
export function secondsVariable(ctx: RunContext, name: string, defaultSeconds: number): number {
  const raw = ctx.variable(name)?.trim() ?? '';
  if (raw === '') return defaultSeconds;
  const seconds = Number(raw);
  if (Number.isFinite(seconds) && seconds > 0) return seconds;
  ctx.log.warning(ctx.loc('SecondsVariableInvalid', name, raw, defaultSeconds));
  return defaultSeconds;
}
