import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * Fake buildkitd daemons for the fake buildctl (tests/fixtures/fake-buildctl), over real loopback TCP
 * ports or unix sockets. On each connection a daemon writes one JSON greeting line and keeps the
 * connection open until the client closes it (protocol: see the fake's header).
 */

export interface FakeWorker {
  id: string;
  platforms: string[];
}

export interface FakeDaemonOptions {
  workers?: FakeWorker[];
  /**
   * Require mutual TLS: the CA PEM file clients must pass with --tlscacert, and the certificate's name.
   * `clientCertFile`: the one client certificate the daemon's CA signed (others are from another CA); any
   * certificate passes when unset. `alpn: false`: the daemon negotiates no ALPN (buildkitd before v0.17).
   */
  tls?: { caFile: string; serverName?: string; clientCertFile?: string; alpn?: boolean };
  /** Accept connections but never greet (a daemon that hangs): the client waits forever. */
  silent?: boolean;
  /** Listen on this unix socket instead of a loopback TCP port. */
  socketPath?: string;
  /**
   * Builds on this daemon only: the `RUN make` step fails with this exit code, lasts this long, or waits
   * until the file `holdFile` exists.
   */
  behaviour?: { failStep?: number; slowMs?: number; holdFile?: string };
}

export interface FakeDaemon {
  /** `tcp://127.0.0.1:PORT` or `unix:///path`. */
  readonly address: string;
  /** Connections accepted so far. */
  connections(): number;
  close(): Promise<void>;
}

export function greetingFor(options: FakeDaemonOptions): string {
  const workers = options.workers ?? [{ id: 'w1', platforms: ['linux/amd64', 'linux/arm64'] }];
  const tls = options.tls
    ? {
        caSha256: createHash('sha256').update(fs.readFileSync(options.tls.caFile)).digest('hex'),
        serverName: options.tls.serverName ?? 'buildkitd',
        alpn: options.tls.alpn ?? true,
        ...(options.tls.clientCertFile === undefined
          ? {}
          : {
              clientCertSha256: createHash('sha256')
                .update(fs.readFileSync(options.tls.clientCertFile))
                .digest('hex'),
            }),
      }
    : null;
  const behaviour = options.behaviour === undefined ? {} : { behaviour: options.behaviour };
  return `${JSON.stringify({ fakeBuildkitd: 1, workers, tls, ...behaviour })}\n`;
}

export async function startFakeDaemon(options: FakeDaemonOptions = {}): Promise<FakeDaemon> {
  const greeting = greetingFor(options);
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  const server = net.createServer((socket) => {
    accepted++;
    sockets.add(socket);
    socket.on('close', () => {
      sockets.delete(socket);
    });
    socket.on('error', () => socket.destroy());
    socket.on('end', () => socket.end());
    if (!options.silent) socket.write(greeting);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    if (options.socketPath !== undefined) server.listen(options.socketPath, resolve);
    else server.listen(0, '127.0.0.1', resolve);
  });
  const bound = server.address();
  const address =
    options.socketPath !== undefined
      ? `unix://${options.socketPath}`
      : `tcp://127.0.0.1:${typeof bound === 'object' && bound !== null ? bound.port : 0}`;
  return {
    address,
    connections: () => accepted,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => {
          resolve();
        });
      }),
  };
}

/** A loopback TCP address where nothing listens (connection refused). */
export async function refusedAddress(): Promise<string> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const bound = server.address();
  const port = typeof bound === 'object' && bound !== null ? bound.port : 0;
  await new Promise<void>((resolve) => {
    server.close(() => {
      resolve();
    });
  });
  return `tcp://127.0.0.1:${port}`;
}

/** Writes a PEM-looking file with random content (a fake CA, certificate or key); returns its path. */
export function writeFakePem(dir: string, name: string, label = 'CERTIFICATE'): string {
  const file = path.join(dir, name);
  const body = randomBytes(48).toString('base64');
  fs.writeFileSync(file, `-----BEGIN ${label}-----\n${body}\n-----END ${label}-----\n`, { mode: 0o600 });
  return file;
}

/** A fresh private temporary directory. */
export function tempDir(prefix = 'bkb-build-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}
