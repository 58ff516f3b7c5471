import type { RunContext } from '../core/context';
import { daemonEnv, daemonGlobalArgs, usesTls } from './flags';
import { runProcess } from '../process/process';
import type { DaemonTls } from '../core/daemonTls';

export type PreflightFailureKind =
  | 'unreachable'
  | 'tls-authority'
  | 'tls-name'
  | 'tls-client-certificate'
  | 'tls-not-tls'
  | 'tls-alpn'
  | 'tls-required'
  | 'tls-file'
  | 'timeout'
  | 'other';

export type PreflightOutcome =
  | { readonly ok: true; readonly platforms: readonly string[] }
  | { readonly ok: false; readonly kind: PreflightFailureKind; readonly detail: string };

/** Pure: the kind of a failed `buildctl debug workers`, from its error output. */
export function classifyPreflightFailure(output: string, tlsConfigured: boolean): PreflightFailureKind {
  if (/could not read (ca certificate|certificate|key)|failed to load (certificate|key)/i.test(output)) {
    return 'tls-file';
  }
  // grpc-go 1.67+ (buildctl from BuildKit v0.19) and a daemon without ALPN (buildkitd before v0.17).
  if (/missing selected ALPN property/.test(output)) return 'tls-alpn';
  if (/certificate is valid for .*, not |doesn't contain any IP SANs|not valid for any names/.test(output)) {
    return 'tls-name';
  }
  if (/certificate signed by unknown authority|failed to verify certificate/.test(output))
    return 'tls-authority';
  if (
    /bad certificate|certificate required|unknown certificate authority|certificate has expired or is not yet valid: .*remote/.test(
      output,
    )
  ) {
    return 'tls-client-certificate';
  }
  if (/first record does not look like a TLS handshake|server gave HTTP response/.test(output))
    return 'tls-not-tls';
  // The daemon closed the connection right after the handshake (TLS 1.3 checks the client certificate
  // then): grpc-go up to 1.50 (buildctl up to v0.11) says so; later ones fail writing their first frames.
  // Without TLS, it is plain HTTP/2 sent to a TLS port.
  // Reading the server preface means TCP (and TLS) got through: a reset or EOF then is the daemon
  // dropping this client, not an unreachable daemon.
  if (
    /connection closed before server preface received|write: broken pipe|error reading server preface: .*connection reset by peer/.test(
      output,
    )
  )
    return tlsConfigured ? 'tls-client-certificate' : 'tls-required';
  if (
    /connection refused|no such file or directory|no such host|network is unreachable|host is unreachable|connection reset/.test(
      output,
    )
  ) {
    return 'unreachable';
  }
  if (!tlsConfigured && /error reading server preface|EOF/.test(output)) return 'tls-required';
  if (/i\/o timeout|deadline exceeded|context deadline/.test(output)) return 'timeout';
  return 'other';
}

/** Pure: the platforms column of `buildctl debug workers` (`ID  PLATFORMS` table). */
export function parseWorkerPlatforms(stdout: string): string[] {
  const platforms = new Set<string>();
  for (const line of stdout.split('\n').slice(1)) {
    const column = line.trim().split(/\s+/)[1];
    for (const platform of column?.split(',') ?? []) if (platform !== '') platforms.add(platform);
  }
  return [...platforms];
}

/** Keeps the last lines of a process's output (bounded), for an error message. */
class TailBuffer {
  private readonly lines: string[] = [];
  constructor(private readonly keep = 40) {}
  push(lines: readonly string[]): void {
    for (const line of lines) {
      if (line.trim() === '') continue;
      this.lines.push(line.length > 1000 ? line.slice(0, 1000) : line);
      if (this.lines.length > this.keep) this.lines.shift();
    }
  }
  text(): string {
    return this.lines.join('\n');
  }
  last(): string {
    return this.lines.at(-1) ?? '';
  }
}

export interface PreflightRequest {
  readonly buildctlPath: string;
  readonly address: string;
  readonly tls: DaemonTls;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly timeoutMs: number;
  readonly signal: AbortSignal;
}

/** Runs `buildctl debug workers` against one daemon, killing it when it exceeds the timeout. */
export async function runPreflight(request: PreflightRequest): Promise<PreflightOutcome> {
  const stdout = new TailBuffer(200);
  const stderr = new TailBuffer();
  const result = await runProcess({
    file: request.buildctlPath,
    args: [...daemonGlobalArgs(request.address, request.tls), 'debug', 'workers'],
    env: daemonEnv(request.env, request.tls),
    onLines: (lines, stream) => {
      (stream === 'stdout' ? stdout : stderr).push(lines);
    },
    signal: request.signal,
    timeoutMs: request.timeoutMs,
    killGraceMs: 1000,
  });
  if (result.timedOut) return { ok: false, kind: 'timeout', detail: '' };
  if (result.code === 0 && !result.cancelled)
    return { ok: true, platforms: parseWorkerPlatforms(stdout.text()) };
  const tlsConfigured = usesTls(request.tls);
  const detail = stderr.last().replace(/^error: /, '') || stdout.last() || `exit code ${String(result.code)}`;
  return { ok: false, kind: classifyPreflightFailure(stderr.text(), tlsConfigured), detail };
}

/** What a user should do about a failed pre-flight check, localized. */
export function preflightMessage(
  outcome: Extract<PreflightOutcome, { ok: false }>,
  address: string,
  tls: DaemonTls,
  timeoutSeconds: number,
  ctx: RunContext,
): string {
  switch (outcome.kind) {
    case 'unreachable':
      return ctx.loc('DaemonUnreachable', address, outcome.detail);
    case 'tls-authority':
      return ctx.loc('DaemonTlsAuthority', address, tls.caCert ?? ctx.loc('DaemonTlsNotSet'), outcome.detail);
    case 'tls-name': {
      const valid = /certificate is valid for (.*), not (\S+)/.exec(outcome.detail);
      return ctx.loc('DaemonTlsName', address, valid?.[1] ?? '?', tls.serverName ?? address, outcome.detail);
    }
    case 'tls-client-certificate':
      if (tls.cert === undefined)
        return ctx.loc('DaemonTlsClientCertificateMissing', address, outcome.detail);
      return ctx.loc(
        'DaemonTlsClientCertificate',
        address,
        tls.cert,
        tls.key ?? ctx.loc('DaemonTlsNotSet'),
        outcome.detail,
      );
    case 'tls-alpn':
      return ctx.loc('DaemonTlsAlpn', address, outcome.detail);
    case 'tls-not-tls':
      return ctx.loc('DaemonTlsNotTls', address, outcome.detail);
    case 'tls-required':
      return ctx.loc('DaemonTlsRequired', address, outcome.detail);
    case 'tls-file':
      return ctx.loc('DaemonTlsFile', address, outcome.detail);
    case 'timeout':
      return ctx.loc('DaemonTimeout', address, timeoutSeconds);
    case 'other':
      return ctx.loc('DaemonPreflightFailed', address, outcome.detail);
  }
}
