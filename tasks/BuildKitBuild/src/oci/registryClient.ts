import { createHash } from 'node:crypto';
import type { HttpClient, PipelineRequest, PipelineResponse } from '@azure/core-rest-pipeline';
import type { HttpProxy } from '../core/context';
import { sdkProxySettings } from '../registry/proxySettings';
import {
  backoffRetryStrategy,
  DEFAULT_RETRY,
  type RetryNotice,
  type RetrySettings,
} from '../registry/acrExchange';
import { parseChallenge, type Challenge } from './challenge';
import { MANIFEST_ACCEPT } from './mediaTypes';

/** How the task proves itself to a registry's token service. */
export type RegistryAuth =
  /** ACR: the refresh token from /oauth2/exchange, traded with grant_type=refresh_token. */
  | { readonly kind: 'refreshToken'; readonly refreshToken: string }
  /** A Docker Registry connection or a docker config `auth` entry: HTTP Basic towards the token service. */
  | { readonly kind: 'basic'; readonly username: string; readonly password: string }
  | { readonly kind: 'anonymous' };

export interface RegistryClientOptions {
  /** `myacr.azurecr.io` or `host:port`; requests go to `https://<apiHost>/v2/...`. */
  readonly apiHost: string;
  readonly auth: RegistryAuth;
  /** The agent's proxy towards the registry, if one applies. */
  readonly proxy?: HttpProxy;
  readonly retry?: RetrySettings;
  readonly onRetry?: (notice: RetryNotice) => void;
  /** Every token the client receives, so that the caller masks it before anything could print it. */
  readonly onSecret?: (value: string) => void;
  /** Tests: a scripted HTTP client, or the CA of a loopback server. */
  readonly httpClient?: HttpClient;
  readonly tlsCa?: string;
  readonly random?: () => number;
}

/** A manifest as the registry holds it: exact bytes, their digest, and the media type it was served as. */
export interface FetchedManifest {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly text: string;
  readonly json: unknown;
}

/** A registry answer the task cannot go on with: the HTTP status and the registry's own error text. */
export class RegistryError extends Error {
  constructor(
    readonly operation: string,
    readonly status: number | undefined,
    readonly detail: string,
  ) {
    super(`${operation}: ${status === undefined ? '' : `HTTP ${status} `}${detail}`.trim());
  }
}

/** A challenge named a token service that is not an HTTPS URL: no credential was sent to it. */
export class InsecureTokenServiceError extends RegistryError {
  constructor(readonly realm: string) {
    super(
      `token from ${realm}`,
      undefined,
      'the registry names a token service that is not an HTTPS URL; credentials are sent over HTTPS only',
    );
  }
}

/** How long one request may take before it counts as a network error (and is retried). */
const REQUEST_TIMEOUT_MS = 60_000;

/**
 * The most the client reads of one answer: distribution's own bound on a manifest body (4 MiB), which
 * also holds the image configs, tokens and error texts the task reads. A larger answer is refused as soon
 * as it passes the bound, without reading the rest.
 */
const MAX_BODY_BYTES = 4 * 1024 * 1024;

/** Every status: the body of each answer is streamed, so that it can be read within the bound. */
const ALL_STATUSES = new Set(Array.from({ length: 500 }, (_, i) => i + 100));

/** Reads a streamed body up to `maxBytes`; undefined when it is longer (the stream is then destroyed). */
async function readBounded(stream: NodeJS.ReadableStream, maxBytes: number): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of stream) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    length += bytes.length;
    if (length > maxBytes) {
      (stream as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
      return undefined;
    }
    chunks.push(bytes);
  }
  return Buffer.concat(chunks).toString('utf8');
}

const sha256 = (text: string): string => `sha256:${createHash('sha256').update(text, 'utf8').digest('hex')}`;

/** Pure: the registry's error text, short, from its `{"errors":[{code,message}]}` body or the raw body. */
export function registryErrorDetail(body: string | null | undefined): string {
  const raw = body ?? '';
  try {
    const parsed = JSON.parse(raw) as { errors?: { code?: unknown; message?: unknown }[] };
    if (Array.isArray(parsed.errors) && parsed.errors.length > 0) {
      return parsed.errors
        .map((e) => [e.code, e.message].filter((x) => typeof x === 'string' && x !== '').join(': '))
        .join('; ')
        .slice(0, 300);
    }
  } catch {
    // not JSON: the text itself
  }
  const text = raw.replace(/\s+/g, ' ').trim();
  return text.length > 300 ? `${text.slice(0, 300)}...` : text;
}

function isHttpsUrl(text: string): boolean {
  try {
    return new URL(text).protocol === 'https:';
  } catch {
    return false;
  }
}

/** Pure: the scope to ask for when a challenge names none: `repository:<repo>:pull` or `...:pull,push`. */
export function defaultScope(repository: string, write: boolean): string {
  return `repository:${repository}:${write ? 'pull,push' : 'pull'}`;
}

/**
 * A small client for the OCI distribution API: manifests (HEAD/GET/PUT) and blobs (GET), with the
 * registry's token flow (a 401 challenge, then a token for its realm, service and scope, kept per scope),
 * retries with backoff on network errors, 429 and 5xx, and the agent's proxy.
 */
export class RegistryClient {
  private readonly tokens = new Map<string, string>();
  /** Token requests under way, by realm, service and scope: parallel calls share one until it settles. */
  private readonly pending = new Map<string, Promise<string>>();
  private basicAccepted = false;
  private httpClient: HttpClient | undefined;
  /** The same object for every request: the HTTP client keeps one connection pool per TLS settings object. */
  private readonly tlsSettings: { ca: string } | undefined;

  constructor(private readonly options: RegistryClientOptions) {
    this.tlsSettings = options.tlsCa === undefined ? undefined : { ca: options.tlsCa };
  }

  async getManifest(repository: string, reference: string, signal: AbortSignal): Promise<FetchedManifest> {
    const response = await this.send(
      { method: 'GET', path: `/v2/${repository}/manifests/${reference}`, accept: MANIFEST_ACCEPT },
      repository,
      false,
      signal,
    );
    const operation = `GET ${repository}@${reference}`;
    if (response.status !== 200) {
      throw new RegistryError(operation, response.status, registryErrorDetail(response.bodyAsText));
    }
    const text = response.bodyAsText ?? '';
    const digest = sha256(text);
    if (reference.startsWith('sha256:') && digest !== reference) {
      throw new RegistryError(operation, undefined, `the registry served content whose digest is ${digest}`);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new RegistryError(operation, undefined, 'the manifest is not JSON');
    }
    const declared = (json as { mediaType?: unknown } | null)?.mediaType;
    const header = response.headers.get('content-type')?.split(';')[0]?.trim();
    const mediaType = typeof declared === 'string' && declared !== '' ? declared : (header ?? '');
    return { mediaType, digest, size: Buffer.byteLength(text), text, json };
  }

  /** Whether a manifest exists (HEAD); its digest when it does. */
  async headManifest(
    repository: string,
    reference: string,
    signal: AbortSignal,
  ): Promise<string | undefined> {
    const response = await this.send(
      { method: 'HEAD', path: `/v2/${repository}/manifests/${reference}`, accept: MANIFEST_ACCEPT },
      repository,
      false,
      signal,
    );
    if (response.status === 404) return undefined;
    if (response.status !== 200) {
      throw new RegistryError(`HEAD ${repository}:${reference}`, response.status, '');
    }
    return response.headers.get('docker-content-digest') ?? reference;
  }

  /** A small blob (an image config) as text, checked against its digest. */
  async getBlob(repository: string, digest: string, signal: AbortSignal): Promise<string> {
    const operation = `GET blob ${repository}@${digest}`;
    let response = await this.send(
      { method: 'GET', path: `/v2/${repository}/blobs/${digest}` },
      repository,
      false,
      signal,
    );
    // Registries often redirect blobs to storage (ACR to Azure Blob Storage): follow without our token.
    for (let hops = 0; response.status >= 300 && response.status < 400 && hops < 3; hops++) {
      const location = response.headers.get('location');
      if (location === undefined) break;
      const url = new URL(location, `https://${this.options.apiHost}/`).toString();
      response = await this.request({ method: 'GET', url }, undefined, signal);
    }
    if (response.status !== 200) {
      throw new RegistryError(operation, response.status, registryErrorDetail(response.bodyAsText));
    }
    const text = response.bodyAsText ?? '';
    if (sha256(text) !== digest)
      throw new RegistryError(operation, undefined, 'the content does not match its digest');
    return text;
  }

  /** PUTs a manifest under a tag or digest; returns the digest the registry reports. */
  async putManifest(
    repository: string,
    reference: string,
    mediaType: string,
    text: string,
    signal: AbortSignal,
  ): Promise<string> {
    const response = await this.send(
      { method: 'PUT', path: `/v2/${repository}/manifests/${reference}`, contentType: mediaType, body: text },
      repository,
      true,
      signal,
    );
    if (response.status !== 201 && response.status !== 200) {
      throw new RegistryError(
        `PUT ${repository}:${reference}`,
        response.status,
        registryErrorDetail(response.bodyAsText),
      );
    }
    return response.headers.get('docker-content-digest') ?? sha256(text);
  }

  /**
   * An access token for `scope` (`repository:team/app:pull,push`) through the registry's own challenge of
   * `GET /v2/`, without touching any repository: for reading what the registry grants before a build
   * (permission/check.ts). Undefined when the registry asks for no bearer token.
   */
  async tokenForScope(scope: string, signal: AbortSignal): Promise<string | undefined> {
    const url = `https://${this.options.apiHost}/v2/`;
    const first = await this.request({ method: 'GET', url }, undefined, signal);
    const challenge =
      first.status === 401 ? parseChallenge(first.headers.get('www-authenticate')) : undefined;
    if (challenge?.scheme !== 'bearer') return undefined;
    // The scope asked for is ours: a scope the challenge names (none, for /v2/) is dropped.
    const params = Object.fromEntries(Object.entries(challenge.params).filter(([key]) => key !== 'scope'));
    if ((await this.answer({ scheme: challenge.scheme, params }, scope, undefined, signal)) === undefined)
      return undefined;
    return this.tokens.get(scope);
  }

  /** One API call with the token flow: a 401 with a challenge gets a token and one more attempt. */
  private async send(
    call: { method: string; path: string; accept?: string; contentType?: string; body?: string },
    repository: string,
    write: boolean,
    signal: AbortSignal,
  ): Promise<PipelineResponse> {
    const url = `https://${this.options.apiHost}${call.path}`;
    const scope = defaultScope(repository, write);
    const sent = this.authorization(scope);
    const first = await this.request({ ...call, url }, sent, signal);
    if (first.status !== 401) return first;
    const challenge = parseChallenge(first.headers.get('www-authenticate'));
    if (challenge === undefined) return first;
    const header = await this.answer(challenge, scope, sent, signal);
    if (header === undefined) return first;
    return this.request({ ...call, url }, header, signal);
  }

  /** The Authorization header already earned for a scope, if any. */
  private authorization(scope: string): string | undefined {
    const token = this.tokens.get(scope);
    if (token !== undefined) return `Bearer ${token}`;
    return this.basicAccepted ? this.basicHeader() : undefined;
  }

  private basicHeader(): string | undefined {
    const auth = this.options.auth;
    if (auth.kind === 'basic')
      return `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
    return undefined;
  }

  /** The header that answers a challenge: Basic credentials, or a token from the realm for the scope. */
  private async answer(
    challenge: Challenge,
    wantedScope: string,
    refused: string | undefined,
    signal: AbortSignal,
  ): Promise<string | undefined> {
    if (challenge.scheme === 'basic') {
      this.basicAccepted = true;
      return this.basicHeader();
    }
    const realm = challenge.params.realm;
    if (challenge.scheme !== 'bearer' || realm === undefined || realm === '') return undefined;
    // The registry is reached over HTTPS only: a token service it names must be too, or the refresh
    // token or password would travel unencrypted to whoever answers on the way.
    if (!isHttpsUrl(realm)) throw new InsecureTokenServiceError(realm);
    // A token another call earned meanwhile (parallel reads) serves, unless it is the one just refused.
    const earned = this.tokens.get(wantedScope);
    if (earned !== undefined && `Bearer ${earned}` !== refused) return `Bearer ${earned}`;
    const scope = challenge.params.scope ?? wantedScope;
    const key = JSON.stringify([realm, challenge.params.service, scope]);
    let request = this.pending.get(key);
    if (request === undefined) {
      request = this.fetchToken(realm, challenge.params.service, scope, signal);
      this.pending.set(key, request);
      // Shared only while under way: a token the registry refuses later (it expired) is asked for again.
      const settled = (): void => {
        this.pending.delete(key);
      };
      request.then(settled, settled);
    }
    const token = await request;
    this.tokens.set(wantedScope, token);
    return `Bearer ${token}`;
  }

  private async fetchToken(
    realm: string,
    service: string | undefined,
    scope: string,
    signal: AbortSignal,
  ): Promise<string> {
    const auth = this.options.auth;
    let response: PipelineResponse;
    if (auth.kind === 'refreshToken') {
      const form = new URLSearchParams({ grant_type: 'refresh_token' });
      if (service !== undefined) form.set('service', service);
      form.set('scope', scope);
      form.set('refresh_token', auth.refreshToken);
      response = await this.request(
        {
          method: 'POST',
          url: realm,
          contentType: 'application/x-www-form-urlencoded',
          body: form.toString(),
        },
        undefined,
        signal,
      );
    } else {
      const url = new URL(realm);
      if (service !== undefined) url.searchParams.set('service', service);
      url.searchParams.set('scope', scope);
      response = await this.request({ method: 'GET', url: url.toString() }, this.basicHeader(), signal);
    }
    const operation = `token for ${scope} from ${realm}`;
    if (response.status !== 200) {
      throw new RegistryError(operation, response.status, registryErrorDetail(response.bodyAsText));
    }
    let token: unknown;
    try {
      const body = JSON.parse(response.bodyAsText ?? '') as { access_token?: unknown; token?: unknown };
      token = body.access_token ?? body.token;
    } catch {
      token = undefined;
    }
    if (typeof token !== 'string' || token === '') {
      throw new RegistryError(operation, response.status, 'the answer holds no token');
    }
    this.options.onSecret?.(token);
    return token;
  }

  /** One HTTP exchange through the shared pipeline: proxy, retries, timeout, cancellation. */
  private async request(
    call: { method: string; url: string; accept?: string; contentType?: string; body?: string },
    authorization: string | undefined,
    signal: AbortSignal,
  ): Promise<PipelineResponse> {
    const rest = await import('@azure/core-rest-pipeline');
    const settings = this.options.retry ?? DEFAULT_RETRY;
    const random = this.options.random ?? Math.random;
    const strategy = backoffRetryStrategy('bkbRegistryRetry', settings, random, signal, this.options.onRetry);
    const pipeline = rest.createEmptyPipeline();
    pipeline.addPolicy(rest.userAgentPolicy({ userAgentPrefix: 'BuildKitBuild' }));
    pipeline.addPolicy(rest.proxyPolicy(sdkProxySettings(this.options.proxy)));
    if (this.tlsSettings !== undefined) pipeline.addPolicy(rest.tlsPolicy(this.tlsSettings));
    pipeline.addPolicy(rest.retryPolicy([strategy], { maxRetries: settings.maxRetries }), { phase: 'Retry' });
    const headers = rest.createHttpHeaders();
    if (call.accept !== undefined) headers.set('Accept', call.accept);
    if (call.contentType !== undefined) headers.set('Content-Type', call.contentType);
    if (authorization !== undefined) headers.set('Authorization', authorization);
    const request = rest.createPipelineRequest({
      url: call.url,
      method: call.method as PipelineRequest['method'],
      headers,
      body: call.body,
      abortSignal: signal,
    });
    // One HTTP client (and so one connection pool) for every request of this registry.
    this.httpClient ??= this.options.httpClient ?? rest.createDefaultHttpClient();
    const client = this.httpClient;
    // Our own timeout, as for the ACR exchange: a request without an answer in time is a network error.
    const timed: HttpClient = {
      sendRequest: async (outgoing) => {
        const timedOut = new AbortController();
        const timer = setTimeout(() => {
          timedOut.abort();
        }, REQUEST_TIMEOUT_MS);
        const own = outgoing.abortSignal;
        outgoing.abortSignal = AbortSignal.any([signal, timedOut.signal]);
        outgoing.streamResponseStatusCodes = ALL_STATUSES;
        try {
          const response = await client.sendRequest(outgoing);
          const stream = response.readableStreamBody;
          if (stream === undefined) return response;
          const text = await readBounded(stream, MAX_BODY_BYTES);
          if (text === undefined) {
            const where = new URL(outgoing.url);
            throw new RegistryError(
              `${outgoing.method} ${where.host}${where.pathname}`,
              response.status,
              `the answer is larger than ${MAX_BODY_BYTES / 1024 / 1024} MiB`,
            );
          }
          return { ...response, readableStreamBody: undefined, bodyAsText: text };
        } catch (error: unknown) {
          if (error instanceof RegistryError) throw error;
          if (signal.aborted || !timedOut.signal.aborted) throw error;
          throw new rest.RestError(`no answer within ${REQUEST_TIMEOUT_MS / 1000} s`, {
            code: 'ETIMEDOUT',
            request: outgoing,
          });
        } finally {
          clearTimeout(timer);
          outgoing.abortSignal = own;
        }
      },
    };
    return pipeline.sendRequest(timed, request);
  }
}
