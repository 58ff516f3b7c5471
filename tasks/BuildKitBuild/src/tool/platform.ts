import { appendPath } from './urlText';

/** Where a BuildKit release archive comes from for one agent platform, as upstream names it. */
export interface ReleasePlatform {
  /** Upstream's OS name: linux, darwin, windows. */
  readonly os: string;
  /** Upstream's architecture name: amd64, arm64, arm-v7, s390x, ppc64le, riscv64. */
  readonly arch: string;
  /** The buildctl executable inside the archive's bin/ directory. */
  readonly buildctl: string;
}

/** Node's `process.platform` → upstream OS name, and per OS Node's `os.arch()` → upstream arch. */
const RELEASES: Readonly<Partial<Record<NodeJS.Platform, { os: string; arches: Record<string, string> }>>> = {
  linux: {
    os: 'linux',
    arches: {
      x64: 'amd64',
      arm64: 'arm64',
      arm: 'arm-v7',
      s390x: 's390x',
      ppc64: 'ppc64le',
      riscv64: 'riscv64',
    },
  },
  darwin: { os: 'darwin', arches: { x64: 'amd64', arm64: 'arm64' } },
  win32: { os: 'windows', arches: { x64: 'amd64', arm64: 'arm64' } },
};

/** The release platform for an agent, or undefined when BuildKit publishes no release for it. */
export function releasePlatform(platform: NodeJS.Platform, arch: string): ReleasePlatform | undefined {
  const release = RELEASES[platform];
  const releaseArch = release?.arches[arch];
  if (release === undefined || releaseArch === undefined) return undefined;
  return { os: release.os, arch: releaseArch, buildctl: platform === 'win32' ? 'buildctl.exe' : 'buildctl' };
}

/** Every supported platform as `os/arch` in upstream names, for error messages. */
export function supportedReleasePlatforms(): string[] {
  return Object.values(RELEASES).flatMap((r) => Object.values(r.arches).map((a) => `${r.os}/${a}`));
}

/** `<base>/v<version>/buildkit-v<version>.<os>-<arch>.tar.gz`, before the base URL's query if it has one. */
export function releaseArchiveUrl(baseUrl: string, version: string, release: ReleasePlatform): string {
  return appendPath(baseUrl, `v${version}/buildkit-v${version}.${release.os}-${release.arch}.tar.gz`);
}
