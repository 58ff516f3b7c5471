import type { TestPki } from './pki';
import {
  faultReply,
  startLoopback,
  type LoopbackServer,
  type Reply,
  type ServerFault,
  type TokenBook,
} from './loopback';

export interface FakeDevOpsOidc extends LoopbackServer {
  /** What to set as System.OidcRequestUri. */
  readonly requestUri: string;
  /** OIDC tokens issued, by service connection id. */
  readonly issued: { token: string; serviceConnectionId: string }[];
}

/**
 * Azure DevOps' OIDC token endpoint (`options.script`: replies given to the first requests, before normal
 * service or `options.fault`) for workload identity federation: POST System.OidcRequestUri
 * ?api-version=7.1&serviceConnectionId=ID with the System.AccessToken as bearer → {"oidcToken": "..."}.
 */
export async function startDevOpsOidc(
  pki: TestPki,
  book: TokenBook,
  systemAccessToken: string,
  options: { readonly script?: readonly Reply[]; readonly fault?: ServerFault } = {},
): Promise<FakeDevOpsOidc> {
  const issued: FakeDevOpsOidc['issued'] = [];
  const script = [...(options.script ?? [])];
  const path = '/bkb-org/0f0e0d0c/_apis/distributedtask/hubs/build/plans/42/jobs/43/oidctoken';
  const server = await startLoopback(pki, (request) => {
    if (request.method !== 'POST' || request.path !== path) return { status: 404, body: {} };
    const scripted = script.shift();
    if (scripted !== undefined) return scripted;
    if (options.fault !== undefined) return faultReply(options.fault);
    if (request.headers.authorization !== `Bearer ${systemAccessToken}`) {
      return {
        status: 401,
        body: { message: 'TF400813: The user is not authorized to access this resource.' },
      };
    }
    const id = request.query.serviceConnectionId ?? '';
    if (id === '') return { status: 400, body: { message: 'serviceConnectionId is required' } };
    const token = book.mint({
      iss: 'https://vstoken.dev.azure.com/bkb-org',
      sub: `sc://bkb-org/project/${id}`,
      aud: 'api://AzureADTokenExchange',
    });
    issued.push({ token, serviceConnectionId: id });
    return { status: 200, body: { oidcToken: token } };
  });
  return Object.assign(server, { requestUri: `${server.origin}${path}`, issued });
}
