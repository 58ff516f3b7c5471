import { captureProcess, describeEnd, succeeded } from '../process/process';
import { parseBuildctlVersionOutput } from './version';

/** What `buildctl --version` said: the parsed version, or undefined with the raw output. */
export interface VersionProbe {
  readonly version: string | undefined;
  readonly output: string;
}

const PROBE_TIMEOUT_MS = 60_000;

/**
 * Runs `<file> --version` (no shell) and parses buildctl's version line. Rejects when it cannot run or
 * does not succeed, with what it printed.
 */
export async function probeBuildctlVersion(
  file: string,
  env: Readonly<Record<string, string | undefined>>,
  signal: AbortSignal,
): Promise<VersionProbe> {
  const { result, output } = await captureProcess({
    file,
    args: ['--version'],
    env,
    signal,
    timeoutMs: PROBE_TIMEOUT_MS,
  });
  if (!succeeded(result)) {
    const ending = describeEnd(result, PROBE_TIMEOUT_MS);
    throw new Error(output === '' ? ending : `${ending}: ${output}`);
  }
  return { version: parseBuildctlVersionOutput(output), output };
}
