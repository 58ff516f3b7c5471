import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { TestPki } from './pki';
import {
  secretValue,
  startLoopback,
  type LoopbackServer,
  type ReceivedRequest,
  type Reply,
} from './loopback';

/**
 * A loopback registry that speaks enough of the OCI distribution API (manifests HEAD/GET/PUT, blobs GET)
 * with the token flow: `/v2/...` without a valid bearer token for the right scope answers 401 with
 * `WWW-Authenticate: Bearer realm,service,scope`; the realm (`/oauth2/token`) grants tokens for
 * `grant_type=refresh_token` (ACR) or HTTP Basic (a Docker Registry connection), each credential with
 * its own allowed actions. Its content lives in a directory (see `storeLayout`) that the fake buildctl
 * pushes into, so the task reads back what "BuildKit pushed".
 */

/** What one credential may do: `{ 'team/app': ['pull', 'push'] }`. */
export type Grants = Readonly<Record<string, readonly string[]>>;

export interface RegistryOptions {
  /** Refresh tokens the realm accepts (grant_type=refresh_token), with what each may do. */
  readonly refreshTokens?: Readonly<Record<string, Grants>>;
  /** `user:password` pairs the realm accepts over Basic, with what each may do. */
  readonly users?: Readonly<Record<string, Grants>>;
  /** Replies given to the first /v2/ requests, before normal service (e.g. 503s to test retries). */
  readonly script?: readonly Reply[];
  /** A reply of its own to a /v2/ request (after the script), or undefined for normal service. */
  readonly fault?: (request: ReceivedRequest) => Reply | undefined;
  /** The content directory; a fresh one under `dir` by default. */
  readonly storeDir: string;
}

export interface FakeRegistry extends LoopbackServer {
  readonly storeDir: string;
  /** Tags written so far, `repo:tag` → digest. */
  tags(): Record<string, string>;
  /** A manifest's bytes by digest, if stored. */
  manifest(digest: string): string | undefined;
  /** Access tokens issued, with the scope granted. */
  readonly issued: { token: string; access: string[] }[];
}

const sha = (bytes: string | Buffer): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/** The directory layout shared with the fake buildctl: content by digest, tags by repository. */
export const storeLayout = {
  blob: (dir: string, digest: string): string => path.join(dir, 'blobs', digest.replace(':', '-')),
  manifest: (dir: string, digest: string): string => path.join(dir, 'manifests', digest.replace(':', '-')),
  tag: (dir: string, repository: string, tag: string): string =>
    path.join(dir, 'tags', repository.replace(/\//g, '__'), tag),
};

function errors(status: number, code: string, message: string, headers?: Record<string, string>): Reply {
  return { status, body: { errors: [{ code, message, detail: null }] }, ...(headers ? { headers } : {}) };
}

/** `repository:team/app:pull,push` → the actions, or undefined when it is not a repository scope. */
function parseScope(scope: string): { repository: string; actions: string[] } | undefined {
  const match = /^repository:([^:]+):(.+)$/.exec(scope);
  return match ? { repository: match[1] ?? '', actions: (match[2] ?? '').split(',') } : undefined;
}

export async function startRegistry(pki: TestPki, options: RegistryOptions): Promise<FakeRegistry> {
  const dir = options.storeDir;
  for (const sub of ['blobs', 'manifests', 'tags']) fs.mkdirSync(path.join(dir, sub), { recursive: true });
  const script = [...(options.script ?? [])];
  const issued: FakeRegistry['issued'] = [];
  const granted = new Map<string, Set<string>>();
  let origin = '';
  let host = '';

  const token = (request: ReceivedRequest): Reply => {
    const isRefresh = request.method === 'POST';
    const fields = isRefresh ? request.form : request.query;
    if (fields.service !== host)
      return errors(401, 'UNAUTHORIZED', `service ${String(fields.service)} is not ${host}`);
    let grants: Grants | undefined;
    if (isRefresh) {
      if (fields.grant_type !== 'refresh_token')
        return errors(400, 'UNSUPPORTED', 'grant_type must be refresh_token');
      grants = options.refreshTokens?.[fields.refresh_token ?? ''];
    } else {
      const basic = /^Basic (.+)$/.exec(request.headers.authorization ?? '')?.[1];
      grants =
        basic === undefined ? undefined : options.users?.[Buffer.from(basic, 'base64').toString('utf8')];
    }
    if (grants === undefined) return errors(401, 'UNAUTHORIZED', 'authentication required');
    const access: string[] = [];
    for (const scope of (fields.scope ?? '').split(' ').filter((s) => s !== '')) {
      const parsed = parseScope(scope);
      if (parsed === undefined) continue;
      const allowed = grants[parsed.repository] ?? [];
      for (const action of parsed.actions)
        if (allowed.includes(action)) access.push(`${parsed.repository}:${action}`);
    }
    const value = secretValue('registry-access');
    granted.set(value, new Set(access));
    issued.push({ token: value, access });
    return { status: 200, body: isRefresh ? { access_token: value } : { token: value, access_token: value } };
  };

  const api = (request: ReceivedRequest): Reply => {
    const scripted = script.shift();
    if (scripted !== undefined) return scripted;
    const faulty = options.fault?.(request);
    if (faulty !== undefined) return faulty;
    const match = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/.exec(request.path);
    if (match === null) return errors(404, 'NAME_UNKNOWN', 'not found');
    const [, repository = '', kind, reference = ''] = match;
    const action = request.method === 'PUT' ? 'push' : 'pull';
    const bearer = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
    const access = bearer === undefined ? undefined : granted.get(bearer);
    if (access === undefined || !access.has(`${repository}:${action}`)) {
      const scope = `repository:${repository}:${action === 'push' ? 'pull,push' : 'pull'}`;
      return errors(401, access === undefined ? 'UNAUTHORIZED' : 'DENIED', 'authentication required', {
        'WWW-Authenticate': `Bearer realm="${origin}/oauth2/token",service="${host}",scope="${scope}"`,
      });
    }
    if (kind === 'blobs') {
      const file = storeLayout.blob(dir, reference);
      if (request.method !== 'GET' || !fs.existsSync(file)) return errors(404, 'BLOB_UNKNOWN', reference);
      return {
        status: 200,
        body: fs.readFileSync(file, 'utf8'),
        headers: { 'Docker-Content-Digest': reference },
      };
    }
    if (request.method === 'PUT') {
      const digest = sha(request.body);
      if (reference.startsWith('sha256:') && reference !== digest)
        return errors(400, 'DIGEST_INVALID', reference);
      const mediaType = request.headers['content-type'] ?? '';
      const declared = (JSON.parse(request.body) as { mediaType?: string }).mediaType;
      if (declared !== undefined && declared !== mediaType) {
        return errors(400, 'MANIFEST_INVALID', `Content-Type ${mediaType} is not the manifest's ${declared}`);
      }
      fs.writeFileSync(storeLayout.manifest(dir, digest), request.body);
      if (!reference.startsWith('sha256:')) {
        const tagFile = storeLayout.tag(dir, repository, reference);
        fs.mkdirSync(path.dirname(tagFile), { recursive: true });
        fs.writeFileSync(tagFile, digest);
      }
      return { status: 201, body: '', headers: { 'Docker-Content-Digest': digest } };
    }
    const tagFile = storeLayout.tag(dir, repository, reference);
    const digest = reference.startsWith('sha256:')
      ? reference
      : fs.existsSync(tagFile)
        ? fs.readFileSync(tagFile, 'utf8')
        : undefined;
    const file = digest === undefined ? undefined : storeLayout.manifest(dir, digest);
    if (digest === undefined || file === undefined || !fs.existsSync(file)) {
      return errors(404, 'MANIFEST_UNKNOWN', reference);
    }
    const text = fs.readFileSync(file, 'utf8');
    const mediaType = (JSON.parse(text) as { mediaType?: string }).mediaType ?? 'application/json';
    return {
      status: 200,
      body: request.method === 'HEAD' ? '' : text,
      headers: { 'Content-Type': mediaType, 'Docker-Content-Digest': digest },
    };
  };

  const server = await startLoopback(pki, (request) => {
    if (request.path === '/oauth2/token') return token(request);
    if (request.path.startsWith('/v2/')) return api(request);
    return errors(404, 'NOT_FOUND', request.path);
  });
  origin = server.origin;
  host = server.host;
  return Object.assign(server, {
    storeDir: dir,
    issued,
    tags: () => {
      const result: Record<string, string> = {};
      const root = path.join(dir, 'tags');
      for (const repo of fs.readdirSync(root)) {
        for (const tag of fs.readdirSync(path.join(root, repo))) {
          result[`${repo.replace(/__/g, '/')}:${tag}`] = fs.readFileSync(path.join(root, repo, tag), 'utf8');
        }
      }
      return result;
    },
    manifest: (digest: string) => {
      const file = storeLayout.manifest(dir, digest);
      return fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : undefined;
    },
  });
}

/** Test helper: stores a blob or manifest the way a push would; returns its digest. */
export function storeContent(dir: string, kind: 'blob' | 'manifest', text: string): string {
  const digest = sha(text);
  fs.mkdirSync(path.join(dir, kind === 'blob' ? 'blobs' : 'manifests'), { recursive: true });
  fs.writeFileSync(kind === 'blob' ? storeLayout.blob(dir, digest) : storeLayout.manifest(dir, digest), text);
  return digest;
}
