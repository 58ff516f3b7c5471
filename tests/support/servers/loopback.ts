import { randomBytes } from 'node:crypto';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TestPki } from './pki';

/** One request a loopback server received, as the tests assert on it. */
export interface ReceivedRequest {
  readonly method: string;
  /** Path without the query. */
  readonly path: string;
  readonly query: Record<string, string>;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
  /** The body parsed as application/x-www-form-urlencoded (empty for other bodies). */
  readonly form: Record<string, string>;
}

export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Never answer: the request stays open until the client gives up or the server closes. */
  never?: boolean;
}

/** How a token endpoint misbehaves on every request once its script is spent. */
export type ServerFault = 'neverAnswer' | 'retryAfter3600';

/** The reply a fault gives: no answer at all, or 429 asking the client to come back in an hour. */
export function faultReply(fault: ServerFault): Reply {
  return fault === 'neverAnswer'
    ? { status: 0, never: true }
    : {
        status: 429,
        headers: { 'Retry-After': '3600' },
        body: { error: 'temporarily_unavailable', error_description: 'throttled: retry in an hour' },
      };
}

export type Handler = (request: ReceivedRequest) => Reply | Promise<Reply>;

export interface LoopbackServer {
  /** `https://127.0.0.1:PORT` (or http:// for plain servers), no trailing slash. */
  readonly origin: string;
  /** `127.0.0.1:PORT`. */
  readonly host: string;
  readonly requests: ReceivedRequest[];
  /** Resolves once a request matching `predicate` has arrived (also one that arrived before). */
  received(predicate: (request: ReceivedRequest) => boolean): Promise<ReceivedRequest>;
  close(): Promise<void>;
}

/** Starts a server on 127.0.0.1 (HTTPS with the PKI's server certificate, or plain HTTP) that records every request. */
export async function startLoopback(pki: TestPki | undefined, handler: Handler): Promise<LoopbackServer> {
  const requests: ReceivedRequest[] = [];
  const waiters: { predicate: (r: ReceivedRequest) => boolean; resolve: (r: ReceivedRequest) => void }[] = [];
  const listener: http.RequestListener = (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const body = Buffer.concat(chunks).toString('utf8');
      const isForm = (req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded');
      const received: ReceivedRequest = {
        method: req.method ?? '',
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        headers: req.headers,
        body,
        form: isForm ? Object.fromEntries(new URLSearchParams(body)) : {},
      };
      requests.push(received);
      for (const waiter of waiters.filter((w) => w.predicate(received))) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(received);
      }
      void Promise.resolve()
        .then(() => handler(received))
        .catch((error: unknown): Reply => ({ status: 500, body: { error: String(error) } }))
        .then((reply) => {
          if (reply.never === true) return;
          const text = typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body ?? {});
          res.writeHead(reply.status, { 'Content-Type': 'application/json', ...reply.headers });
          res.end(text);
        });
    });
  };
  const server = pki
    ? https.createServer({ cert: pki.serverCert, key: pki.serverKey }, listener)
    : http.createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    origin: `${pki ? 'https' : 'http'}://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    requests,
    received: (predicate) => {
      const seen = requests.find(predicate);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve) => waiters.push({ predicate, resolve }));
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}

const b64url = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/** Tokens issued by the fake identity servers, with the claims they were issued for. */
export class TokenBook {
  private readonly issued = new Map<string, Record<string, unknown>>();

  /** A JWT-shaped token carrying `claims` and a random id; unsigned (nobody verifies it but ACR's fake). */
  mint(claims: Record<string, unknown>): string {
    const now = Math.floor(Date.now() / 1000);
    const full = { ...claims, iat: now, nbf: now, exp: now + 3600, jti: randomBytes(12).toString('hex') };
    const token = `${b64url({ alg: 'RS256', typ: 'JWT' })}.${b64url(full)}.${randomBytes(32).toString('base64url')}`;
    this.issued.set(token, full);
    return token;
  }

  claims(token: string): Record<string, unknown> | undefined {
    return this.issued.get(token);
  }

  all(): string[] {
    return [...this.issued.keys()];
  }
}

/** A random secret-looking value, distinct per call: easy to look for in the task's output. */
export function secretValue(prefix: string): string {
  return `${prefix}-${randomBytes(18).toString('base64url')}`;
}
