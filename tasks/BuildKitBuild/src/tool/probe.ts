import { execFile } from 'node:child_process';
import { parseBuildctlVersionOutput } from './version';

/** What `buildctl --version` said: the parsed version, or undefined with the raw output. */
export interface VersionProbe {
  readonly version: string | undefined;
  readonly output: string;
}

/** Runs `<file> --version` (no shell) and parses buildctl's version line. Rejects when it cannot run. */
export function probeBuildctlVersion(
  file: string,
  env: Readonly<Record<string, string | undefined>>,
  signal: AbortSignal,
): Promise<VersionProbe> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      ['--version'],
      { env: { ...env }, signal, timeout: 60_000, windowsHide: true, encoding: 'utf8' },
      (error, stdout, stderr) => {
        if (error) {
          reject(new Error(error.message.trim(), { cause: error }));
          return;
        }
        const output = `${stdout}${stderr}`.trim();
        resolve({ version: parseBuildctlVersionOutput(output), output });
      },
    );
  });
}
