import * as http from 'node:http';
import * as net from 'node:net';

/** One tunnel a client asked for: `CONNECT host:port`, with its Proxy-Authorization header. */
export interface ProxyTunnel {
  readonly target: string;
  readonly authorization: string | undefined;
}

export interface FakeProxy {
  /** `http://127.0.0.1:PORT`, as Agent.ProxyUrl. */
  readonly url: string;
  readonly tunnels: ProxyTunnel[];
  close(): Promise<void>;
}

export interface FakeProxyOptions {
  /** Basic credentials the proxy requires: a CONNECT without exactly these gets 407 and no tunnel. */
  readonly credentials?: { readonly username: string; readonly password: string };
}

/**
 * A forward web proxy on loopback that only tunnels (HTTP CONNECT), as corporate proxies do for HTTPS.
 * It records every tunnel and opens it only to 127.0.0.1, whatever the client asks.
 */
export async function startFakeProxy(options: FakeProxyOptions = {}): Promise<FakeProxy> {
  const tunnels: ProxyTunnel[] = [];
  const sockets = new Set<net.Socket>();
  const server = http.createServer((_request, response) => {
    response.writeHead(405).end('CONNECT only');
  });
  server.on('connect', (request: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    const target = request.url ?? '';
    tunnels.push({ target, authorization: request.headers['proxy-authorization'] });
    const wanted = options.credentials;
    if (
      wanted !== undefined &&
      request.headers['proxy-authorization'] !==
        `Basic ${Buffer.from(`${wanted.username}:${wanted.password}`).toString('base64')}`
    ) {
      client.end(
        'HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="bkb"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n',
      );
      return;
    }
    const port = Number(target.slice(target.lastIndexOf(':') + 1));
    const upstream = net.connect(port, '127.0.0.1', () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => socket.destroy());
      socket.on('close', () => sockets.delete(socket));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${address.port}`,
    tunnels,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => {
          resolve();
        });
      }),
  };
}
