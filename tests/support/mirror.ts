import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tar from 'tar';
import { fakeBuildctlPath } from './fakeBuildctl';

/**
 * A loopback HTTP mirror of BuildKit release archives, laid out as upstream's releases are
 * (`/v<version>/buildkit-v<version>.<os>-<arch>.tar.gz`), built by the tests themselves.
 */

/** What the mirror does instead of serving an archive normally, once per request. */
export type MirrorFault =
  /** Answers with this HTTP status and a short text body. */
  | { status: number }
  /** Announces the full Content-Length, sends half the bytes, then cuts the connection. */
  | { truncate: true }
  /** A clean 200 whose body (and Content-Length) is only the first half of the archive. */
  | { short: true };

export interface ArchiveOptions {
  os?: string;
  arch?: string;
  /** The version the archive's buildctl reports (default: the archive's own). */
  reportsVersion?: string;
  /** Leaves bin/buildctl out of the archive. */
  withoutBuildctl?: boolean;
}

export interface ReleaseArchive {
  readonly version: string;
  /** URL path on the mirror, e.g. `/v0.32.2/buildkit-v0.32.2.linux-amd64.tar.gz`. */
  readonly urlPath: string;
  readonly bytes: Buffer;
  /** Lowercase hex SHA-256 of the bytes. */
  readonly sha256: string;
}

const shellQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** The archive's bin/buildctl: the shared fake buildctl, reporting `version`. */
function buildctlScript(version: string): string {
  return `#!/bin/sh\nFAKE_BUILDCTL_VERSION=${shellQuote(version)} exec ${shellQuote(fakeBuildctlPath)} "$@"\n`;
}

/** A release archive in upstream layout: bin/buildctl, bin/buildkitd, bin/buildkit-runc. */
export function buildReleaseArchive(version: string, options: ArchiveOptions = {}): Buffer {
  const staging = fs.mkdtempSync(path.join(os.tmpdir(), 'bkb-release-'));
  try {
    const bin = path.join(staging, 'bin');
    fs.mkdirSync(bin);
    if (options.withoutBuildctl !== true) {
      fs.writeFileSync(path.join(bin, 'buildctl'), buildctlScript(options.reportsVersion ?? version), {
        mode: 0o755,
      });
    }
    fs.writeFileSync(
      path.join(bin, 'buildkitd'),
      '#!/bin/sh\necho "fake buildkitd: not a daemon" >&2\nexit 1\n',
      {
        mode: 0o755,
      },
    );
    fs.writeFileSync(path.join(bin, 'buildkit-runc'), '#!/bin/sh\nexit 1\n', { mode: 0o755 });
    const file = path.join(staging, 'archive.tar.gz');
    tar.create({ gzip: true, file, cwd: staging, sync: true, portable: true }, ['bin']);
    return fs.readFileSync(file);
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
}

export function archiveUrlPath(version: string, osName = 'linux', arch = 'amd64'): string {
  return `/v${version}/buildkit-v${version}.${osName}-${arch}.tar.gz`;
}

export class ReleaseMirror {
  /** Every request's URL path, in order of arrival. */
  readonly requests: string[] = [];
  /** Each archive response waits this long before its first byte (to make installs overlap). */
  delayMs = 0;
  /**
   * When set, a request whose query is not exactly this (without `?`) is refused with 403, as a blob store
   * refuses a request without its SAS token.
   */
  requiredQuery: string | undefined;
  private readonly archives = new Map<string, ReleaseArchive>();
  private readonly faults = new Map<string, MirrorFault[]>();

  private constructor(
    private readonly server: http.Server,
    /** Base URL to give as buildkitDownloadUrl. */
    readonly url: string,
  ) {}

  static async start(): Promise<ReleaseMirror> {
    const server = http.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const mirror = new ReleaseMirror(server, `http://127.0.0.1:${port}/releases`);
    server.on('request', (request, response) => {
      mirror.handle(request, response);
    });
    return mirror;
  }

  /** Builds and serves an archive for `version`. */
  publish(version: string, options: ArchiveOptions = {}): ReleaseArchive {
    const bytes = buildReleaseArchive(version, options);
    const archive: ReleaseArchive = {
      version,
      urlPath: archiveUrlPath(version, options.os, options.arch),
      bytes,
      sha256: createHash('sha256').update(bytes).digest('hex'),
    };
    this.archives.set(archive.urlPath, archive);
    return archive;
  }

  /** The next requests of `urlPath` meet these faults, one each, in order. */
  failNext(urlPath: string, ...faults: MirrorFault[]): void {
    this.faults.set(urlPath, [...(this.faults.get(urlPath) ?? []), ...faults]);
  }

  /** How many requests asked for `urlPath`. */
  requestsFor(urlPath: string): number {
    return this.requests.filter((r) => r === urlPath).length;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => {
      this.server.close(() => {
        resolve();
      });
    });
  }

  private handle(request: http.IncomingMessage, response: http.ServerResponse): void {
    const base = new URL(this.url).pathname;
    const requested = new URL(request.url ?? '/', this.url);
    const fullPath = requested.pathname;
    const urlPath = fullPath.startsWith(base) ? fullPath.slice(base.length) : fullPath;
    this.requests.push(urlPath);
    const fault = this.faults.get(urlPath)?.shift();
    const archive = this.archives.get(urlPath);
    const send = (): void => {
      if (this.requiredQuery !== undefined && requested.search.slice(1) !== this.requiredQuery) {
        response.writeHead(403, { 'content-type': 'text/plain' }).end('AuthenticationFailed\n');
      } else if (fault !== undefined && 'status' in fault) {
        response.writeHead(fault.status, { 'content-type': 'text/plain' }).end(`fault ${fault.status}\n`);
      } else if (archive === undefined) {
        response.writeHead(404, { 'content-type': 'text/plain' }).end('Not Found\n');
      } else if (fault !== undefined && 'truncate' in fault) {
        response.writeHead(200, { 'content-length': archive.bytes.length });
        response.write(archive.bytes.subarray(0, archive.bytes.length >> 1), () => {
          response.socket?.destroy();
        });
      } else {
        const body =
          fault !== undefined ? archive.bytes.subarray(0, archive.bytes.length >> 1) : archive.bytes;
        response
          .writeHead(200, { 'content-type': 'application/gzip', 'content-length': body.length })
          .end(body);
      }
    };
    if (this.delayMs > 0) setTimeout(send, this.delayMs);
    else send();
  }
}
