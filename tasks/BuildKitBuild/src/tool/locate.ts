import * as fs from 'node:fs';
import * as path from 'node:path';

/** The executable file name of a tool on this platform (`buildctl.exe` on Windows). */
export function executableName(tool: string, platform: NodeJS.Platform): string {
  return platform === 'win32' ? `${tool}.exe` : tool;
}

function isExecutableFile(file: string, platform: NodeJS.Platform): boolean {
  try {
    if (!fs.statSync(file).isFile()) return false;
    if (platform !== 'win32') fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The first executable named `tool` on the PATH of `env`, as a shell would find it; else undefined. */
export function findOnPath(
  tool: string,
  env: Readonly<Record<string, string | undefined>>,
  platform: NodeJS.Platform,
): string | undefined {
  const searchPath = (platform === 'win32' ? (env.Path ?? env.PATH) : env.PATH) ?? '';
  const delimiter = platform === 'win32' ? ';' : ':';
  const name = executableName(tool, platform);
  for (const dir of searchPath.split(delimiter)) {
    if (dir === '' || !path.isAbsolute(dir)) continue;
    const candidate = path.join(dir, name);
    if (isExecutableFile(candidate, platform)) return candidate;
  }
  return undefined;
}
