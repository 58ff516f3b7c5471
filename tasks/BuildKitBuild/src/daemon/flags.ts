import type { DaemonTls } from '../buildInputs/spec';

/** Pure: buildctl's global flags (before the command) for a daemon: its address and mutual TLS. */
export function daemonGlobalArgs(address: string, tls: DaemonTls): string[] {
  const args = ['--addr', address];
  if (tls.caCert !== undefined) args.push('--tlscacert', tls.caCert);
  if (tls.cert !== undefined) args.push('--tlscert', tls.cert);
  if (tls.key !== undefined) args.push('--tlskey', tls.key);
  if (tls.serverName !== undefined) args.push('--tlsservername', tls.serverName);
  return args;
}
