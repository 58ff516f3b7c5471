import type { DaemonTls } from '../buildInputs/spec';

/** Where buildctl reaches a daemon: its address and the mutual TLS it needs. */
export interface DaemonEndpoint {
  readonly address: string;
  readonly tls: DaemonTls;
}

/** No TLS: a daemon on a private unix socket started for this job. */
export const NO_TLS: DaemonTls = {
  caCert: undefined,
  cert: undefined,
  key: undefined,
  serverName: undefined,
};

/** Pure: buildctl's global flags (before the command) for a daemon: its address and mutual TLS. */
export function daemonGlobalArgs(address: string, tls: DaemonTls): string[] {
  const args = ['--addr', address];
  if (tls.caCert !== undefined) args.push('--tlscacert', tls.caCert);
  if (tls.cert !== undefined) args.push('--tlscert', tls.cert);
  if (tls.key !== undefined) args.push('--tlskey', tls.key);
  if (tls.serverName !== undefined) args.push('--tlsservername', tls.serverName);
  return args;
}
