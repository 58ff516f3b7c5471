import type { TestPki } from './pki';
import {
  faultReply,
  secretValue,
  startLoopback,
  type LoopbackServer,
  type ReceivedRequest,
  type Reply,
  type ServerFault,
  type TokenBook,
} from './loopback';

export interface AcrOptions {
  /** Audiences (`aud` of the Entra token) the registry accepts; default: ACR's and ARM's. */
  readonly audiences?: readonly string[];
  /** Replies given to the first exchanges, before normal service (e.g. a 503). */
  readonly script?: readonly Reply[];
  /** The identity lacks a role: every valid token still gets 401. */
  readonly deny?: boolean;
  /** Once the script is spent, every exchange gets this fault instead of service. */
  readonly fault?: ServerFault;
  /**
   * The token service (`GET /v2/` challenge, `/oauth2/token`): the actions granted per repository, as the
   * identity's role assignments or a token's scope map would; a repository not listed gets what was asked.
   */
  readonly grants?: Readonly<Record<string, readonly string[]>>;
  /** Users (admin user, scope-map tokens) the token service accepts with basic authentication. */
  readonly users?: readonly { readonly username: string; readonly password: string }[];
}

export interface FakeAcr extends LoopbackServer {
  /** Refresh tokens issued, with the access token each was exchanged for. */
  readonly issued: { refreshToken: string; accessToken: string }[];
  /** Registry access tokens issued by /oauth2/token, with the scope asked and the actions granted. */
  readonly accessTokens: { token: string; scope: string; granted: readonly string[] }[];
  /** Requests to the token service (`/v2/`, `/oauth2/token`); `requests` keeps the exchange's only. */
  readonly tokenServiceRequests: ReceivedRequest[];
}

export const ACR_AUDIENCE = 'https://containerregistry.azure.net';
export const ARM_AUDIENCE = 'https://management.azure.com';

const unauthorized = (message: string): Reply => ({
  status: 401,
  body: { errors: [{ code: 'UNAUTHORIZED', message, detail: null }] },
});

/**
 * ACR's token exchange: POST /oauth2/exchange, form grant_type=access_token, service=<login server>,
 * tenant, access_token → {"refresh_token": "..."}. Access tokens must come from the fake identity servers.
 */
export async function startAcr(pki: TestPki, book: TokenBook, options: AcrOptions = {}): Promise<FakeAcr> {
  const issued: FakeAcr['issued'] = [];
  const accessTokens: FakeAcr['accessTokens'] = [];
  const tokenServiceRequests: ReceivedRequest[] = [];
  /** Moves a token service request out of `requests`, which tests count as exchanges. */
  const setApart = (request: ReceivedRequest): void => {
    const at = server.requests.indexOf(request);
    if (at >= 0) server.requests.splice(at, 1);
    tokenServiceRequests.push(request);
  };
  const script = [...(options.script ?? [])];
  const audiences = options.audiences ?? [ACR_AUDIENCE, ARM_AUDIENCE];
  let host = '';
  /** ACR's OAuth2 token endpoint: a refresh token (POST form) or basic authentication (GET) for one scope. */
  const accessToken = (request: ReceivedRequest): Reply => {
    const params = request.method === 'POST' ? request.form : request.query;
    if (params.service !== host) return unauthorized(`service ${String(params.service)} is not ${host}`);
    if (request.method === 'POST') {
      const known = issued.some((i) => i.refreshToken === params.refresh_token);
      if (params.grant_type !== 'refresh_token' || !known) return unauthorized('unknown refresh token');
    } else {
      const basic = /^Basic (.+)$/.exec(request.headers.authorization ?? '')?.[1] ?? '';
      const [username, password] = Buffer.from(basic, 'base64').toString('utf8').split(':');
      if (!(options.users ?? []).some((u) => u.username === username && u.password === password))
        return unauthorized('unknown user');
    }
    const [type, name, actions] = (params.scope ?? '').split(':');
    if (type !== 'repository' || name === undefined || actions === undefined)
      return { status: 400, body: { errors: [{ code: 'UNSUPPORTED', message: 'bad scope' }] } };
    const allowed = options.grants?.[name];
    const granted = actions.split(',').filter((a) => allowed === undefined || allowed.includes(a));
    const token = book.mint({ aud: host, access: [{ type: 'repository', name, actions: granted }] });
    accessTokens.push({ token, scope: params.scope ?? '', granted });
    return { status: 200, body: { access_token: token } };
  };
  const server = await startLoopback(pki, (request) => {
    if (request.method === 'GET' && request.path === '/v2/') {
      setApart(request);
      return {
        status: 401,
        headers: { 'WWW-Authenticate': `Bearer realm="https://${host}/oauth2/token",service="${host}"` },
        body: { errors: [{ code: 'UNAUTHORIZED', message: 'authentication required', detail: null }] },
      };
    }
    if (request.path === '/oauth2/token') {
      setApart(request);
      return accessToken(request);
    }
    if (request.method !== 'POST' || request.path !== '/oauth2/exchange') return { status: 404, body: {} };
    const scripted = script.shift();
    if (scripted !== undefined) return scripted;
    if (options.fault !== undefined) return faultReply(options.fault);
    const form = request.form;
    if (form.grant_type !== 'access_token')
      return { status: 400, body: { errors: [{ code: 'UNSUPPORTED' }] } };
    if (form.service !== host) return unauthorized(`service ${String(form.service)} is not ${host}`);
    const claims = book.claims(form.access_token ?? '');
    if (claims === undefined) return unauthorized('unknown access token');
    if (form.tenant !== undefined && form.tenant !== claims.tid) return unauthorized('tenant mismatch');
    if (!audiences.includes(String(claims.aud)))
      return unauthorized(`audience ${String(claims.aud)} is not allowed`);
    if (options.deny === true) return unauthorized('the identity has no role assignment on this registry');
    const refreshToken = secretValue('acr-refresh');
    issued.push({ refreshToken, accessToken: form.access_token ?? '' });
    return { status: 200, body: { refresh_token: refreshToken } };
  });
  host = server.host;
  return Object.assign(server, { issued, accessTokens, tokenServiceRequests });
}
