import { faultReply, startLoopback, type LoopbackServer, type ServerFault, type TokenBook } from './loopback';

export interface FakeImds extends LoopbackServer {
  readonly issued: { token: string; resource: string; clientId: string | undefined }[];
}

/**
 * The managed identity endpoint of an Azure VM (IMDS), on plain HTTP like the real one:
 * GET /metadata/identity/oauth2/token?api-version=2018-02-01&resource=...[&client_id=...] with
 * `Metadata: true` (MSAL adds a trailing slash to the path, which IMDS accepts). The task reaches it through AZURE_POD_IDENTITY_AUTHORITY_HOST (tests only).
 */
export async function startImds(
  book: TokenBook,
  tenant: string,
  options: { readonly fault?: ServerFault } = {},
): Promise<FakeImds> {
  const issued: FakeImds['issued'] = [];
  const server = await startLoopback(undefined, (request) => {
    if (request.method !== 'GET' || !/^\/metadata\/identity\/oauth2\/token\/?$/.test(request.path))
      return { status: 404, body: {} };
    if (request.headers.metadata !== 'true') {
      return {
        status: 400,
        body: { error: 'invalid_request', error_description: 'Required metadata header not specified' },
      };
    }
    if (options.fault !== undefined) return faultReply(options.fault);
    const resource = request.query.resource ?? '';
    const clientId = request.query.client_id;
    const token = book.mint({ aud: resource, tid: tenant, appid: clientId ?? 'system-assigned' });
    issued.push({ token, resource, clientId });
    const now = Math.floor(Date.now() / 1000);
    return {
      status: 200,
      body: {
        access_token: token,
        client_id: clientId ?? '11111111-2222-3333-4444-555555555555',
        expires_in: '3599',
        expires_on: String(now + 3599),
        ext_expires_in: '3599',
        not_before: String(now),
        resource,
        token_type: 'Bearer',
      },
    };
  });
  return Object.assign(server, { issued });
}
