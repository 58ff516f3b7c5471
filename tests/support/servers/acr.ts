import type { TestPki } from './pki';
import {
  faultReply,
  secretValue,
  startLoopback,
  type LoopbackServer,
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
}

export interface FakeAcr extends LoopbackServer {
  /** Refresh tokens issued, with the access token each was exchanged for. */
  readonly issued: { refreshToken: string; accessToken: string }[];
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
  const script = [...(options.script ?? [])];
  const audiences = options.audiences ?? [ACR_AUDIENCE, ARM_AUDIENCE];
  let host = '';
  const server = await startLoopback(pki, (request) => {
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
  return Object.assign(server, { issued });
}
