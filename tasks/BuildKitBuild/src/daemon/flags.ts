import type { DaemonTls } from '../core/daemonTls';

/** Where buildctl reaches a daemon: its address and the mutual TLS it needs. */
export interface DaemonEndpoint {
  readonly address: string;
  readonly tls: DaemonTls;
}

/** The daemon chosen for this build, with the TLS buildctl needs for it. */
export interface SelectedDaemon extends DaemonEndpoint {
  /** Stops what was started for this job (a local daemon); nothing for a remote one. */
  dispose(): Promise<void>;
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

/** Whether buildctl talks TLS to the daemon (a CA or a client certificate is given). */
export function usesTls(tls: DaemonTls): boolean {
  return tls.caCert !== undefined || tls.cert !== undefined;
}

/**
 * Pure: buildctl's environment for a daemon. With TLS it adds GRPC_ENFORCE_ALPN_ENABLED=false unless the
 * pipeline sets that variable itself. buildctl from BuildKit v0.19 (grpc-go 1.67 and later) otherwise
 * refuses daemons that negotiate no ALPN protocol, and buildkitd offers ALPN only from v0.17. grpc-go
 * reads the variable after the TLS handshake has verified the daemon's certificate and name and sent
 * the client certificate: it only decides whether a daemon that selected no protocol is still spoken
 * to (HTTP/2 over TLS without ALPN, which buildkitd before v0.17 serves), so the authentication of
 * either side is unchanged. A later grpc-go may drop the variable: the pre-flight then names the error.
 */
export function daemonEnv(
  env: Readonly<Record<string, string | undefined>>,
  tls: DaemonTls,
): Record<string, string | undefined> {
  const own = env.GRPC_ENFORCE_ALPN_ENABLED;
  if (!usesTls(tls) || (own !== undefined && own !== '')) return { ...env };
  return { ...env, GRPC_ENFORCE_ALPN_ENABLED: 'false' };
}
