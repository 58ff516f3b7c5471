/**
 * PEM files for mutual TLS to buildkitd (buildctl's --tlscacert, --tlscert, --tlskey, --tlsservername):
 * read by the input parser, used by the daemon's flags and pre-flight check.
 */
export interface DaemonTls {
  readonly caCert: string | undefined;
  readonly cert: string | undefined;
  readonly key: string | undefined;
  readonly serverName: string | undefined;
}
