import type { RunContext } from '../core/context';
import type { InputName } from '../core/inputs';
import { absolutePath, pathKind, type Report } from './fields';
import { numberedLines } from './inputText';
import { isPlatform } from './sourceInputs';
import type { DaemonTls } from '../core/daemonTls';

/**
 * The address schemes buildctl accepts for --addr: tcp and unix (and npipe on Windows) natively, the
 * others through the connection helpers buildctl registers (moby/buildkit client/connhelper).
 */
export const BUILDKIT_SCHEMES = [
  'tcp',
  'unix',
  'npipe',
  'ssh',
  'docker-container',
  'podman-container',
  'nerdctl-container',
  'kube-pod',
] as const;

const ADDRESS = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(.*)$/;
const HOST_PORT = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):[0-9]{1,5}$/;
const SERVER_NAME =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*$/;

/** Why an address is wrong, or undefined when buildctl can use it. */
function addressProblem(address: string, ctx: RunContext): string | undefined {
  const match = ADDRESS.exec(address);
  if (match === null) return ctx.loc('BuildAddressSyntax', address, BUILDKIT_SCHEMES.join(', '));
  const scheme = (match[1] ?? '').toLowerCase();
  const rest = match[2] ?? '';
  if (!(BUILDKIT_SCHEMES as readonly string[]).includes(scheme)) {
    return ctx.loc('BuildAddressScheme', address, scheme, BUILDKIT_SCHEMES.join(', '));
  }
  if (scheme === 'tcp') {
    const hostPort = rest.replace(/\/+$/, '');
    return HOST_PORT.test(hostPort) ? undefined : ctx.loc('BuildAddressTcp', address);
  }
  if (scheme === 'unix') return rest.startsWith('/') ? undefined : ctx.loc('BuildAddressUnix', address);
  return rest.replace(/^\/+/, '') === '' ? ctx.loc('BuildAddressEmpty', address) : undefined;
}

/** The buildkitAddress lines: each address, and the platforms a line names after its address. */
export interface DaemonLines {
  readonly addresses: string[];
  /** Address → the platforms its line names (`<address> <platform> [<platform>...]`); absent: none named. */
  readonly served: Record<string, string[]>;
}

/**
 * buildkitAddress lines, `<address> [<platform>...]` separated by whitespace: each address with a scheme
 * buildctl accepts, each platform `os/arch[/variant]`; duplicate addresses removed (the first line wins).
 */
export function parseDaemonLines(raw: string, ctx: RunContext, report: Report): DaemonLines {
  const addresses: string[] = [];
  const served: Record<string, string[]> = {};
  for (const { line, text } of numberedLines(raw)) {
    const [address = '', ...platformWords] = text.split(/\s+/);
    const problem = addressProblem(address, ctx);
    if (problem !== undefined) {
      report('buildkitAddress', problem, line);
      continue;
    }
    const platforms: string[] = [];
    for (const word of platformWords) {
      const platform = word.toLowerCase();
      if (!isPlatform(platform)) {
        report('buildkitAddress', ctx.loc('BuildAddressPlatformInvalid', word, address), line);
      } else if (!platforms.includes(platform)) platforms.push(platform);
    }
    if (addresses.includes(address)) continue;
    addresses.push(address);
    if (platforms.length > 0) served[address] = platforms;
  }
  return { addresses, served };
}

/** buildkitAddress lines: each with a scheme buildctl accepts; duplicates removed. */
export function parseAddresses(raw: string, ctx: RunContext, report: Report): string[] {
  return parseDaemonLines(raw, ctx, report).addresses;
}

function tlsFile(
  input: InputName,
  raw: string,
  workDir: string,
  ctx: RunContext,
  report: Report,
): string | undefined {
  const value = raw.trim();
  if (value === '') return undefined;
  const file = absolutePath(workDir, value);
  if (pathKind(file) !== 'file') report(input, ctx.loc('BuildTlsFileMissing', file));
  return file;
}

/** tlsCaCert, tlsCert, tlsKey (existing files; cert and key only together) and tlsServerName. */
export function parseTls(
  raw: { tlsCaCert: string; tlsCert: string; tlsKey: string; tlsServerName: string },
  workDir: string,
  ctx: RunContext,
  report: Report,
): DaemonTls {
  const caCert = tlsFile('tlsCaCert', raw.tlsCaCert, workDir, ctx, report);
  const cert = tlsFile('tlsCert', raw.tlsCert, workDir, ctx, report);
  const key = tlsFile('tlsKey', raw.tlsKey, workDir, ctx, report);
  if (cert !== undefined && key === undefined) report('tlsKey', ctx.loc('BuildTlsPair', 'tlsCert', 'tlsKey'));
  if (key !== undefined && cert === undefined)
    report('tlsCert', ctx.loc('BuildTlsPair', 'tlsKey', 'tlsCert'));
  const name = raw.tlsServerName.trim();
  if (name !== '' && !SERVER_NAME.test(name)) report('tlsServerName', ctx.loc('BuildTlsServerName', name));
  return { caCert, cert, key, serverName: name === '' ? undefined : name };
}
