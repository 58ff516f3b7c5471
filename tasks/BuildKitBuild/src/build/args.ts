import type { BuildInputs } from './spec';

/** Pure: the `buildctl` argument array (global daemon/TLS flags, then `build ...`). (Issue 3 owns this module.) */
export function buildctlBuildArgs(
  inputs: BuildInputs,
  daemonAddress: string,
  metadataFile: string,
): string[] {
  return [
    '--addr',
    daemonAddress,
    'build',
    '--frontend',
    'dockerfile.v0',
    '--metadata-file',
    metadataFile,
    ...inputs.extraArgs,
  ];
}
