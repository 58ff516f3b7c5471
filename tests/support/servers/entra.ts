import { createPublicKey, verify, constants as cryptoConstants } from 'node:crypto';
import type { TestPki } from './pki';
import {
  faultReply,
  startLoopback,
  type LoopbackServer,
  type Reply,
  type ServerFault,
  type TokenBook,
} from './loopback';

/** A client (app registration) the fake Entra ID knows, with the one way it may authenticate. */
export type EntraClient =
  | { readonly clientId: string; readonly secret: string }
  | { readonly clientId: string; readonly certificatePem: string }
  /** Workload identity federation: the assertion must be a token this predicate accepts. */
  | { readonly clientId: string; readonly federated: (assertion: string) => boolean };

export interface EntraOptions {
  readonly tenant: string;
  readonly clients: readonly EntraClient[];
  /** Scopes answered with AADSTS500011 (resource not found in tenant), e.g. the ACR scope. */
  readonly refuseScopes?: readonly string[];
  /** Replies given to the first token requests, before normal service (e.g. a 503 or a 429). */
  readonly script?: readonly Reply[];
  /** Every token answer (scripted or not) waits this long before it is sent: a slow authority. */
  readonly delayMs?: number;
  /** Once the script is spent, every token request gets this fault instead of service. */
  readonly fault?: ServerFault;
}

export interface FakeEntra extends LoopbackServer {
  /** The authority URL to put into the connection's data: `https://127.0.0.1:PORT/`. */
  readonly authority: string;
  /** Access tokens issued, in order, with the scope each was for. */
  readonly issued: { token: string; scope: string; clientId: string }[];
}

const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

function oauthError(status: number, error: string, description: string): Reply {
  return {
    status,
    body: { error, error_description: description, error_codes: [0], timestamp: new Date().toISOString() },
  };
}

/** Checks an RS256/PS256 client assertion made by MSAL with the certificate's key. */
function verifyCertificateAssertion(
  assertion: string,
  certificatePem: string,
  audience: string,
  clientId: string,
): string | undefined {
  const [header64, payload64, signature64] = assertion.split('.');
  if (header64 === undefined || payload64 === undefined || signature64 === undefined) return 'not a JWT';
  const header = JSON.parse(Buffer.from(header64, 'base64url').toString('utf8')) as { alg?: string };
  const payload = JSON.parse(Buffer.from(payload64, 'base64url').toString('utf8')) as Record<string, unknown>;
  const key = createPublicKey(certificatePem);
  const data = Buffer.from(`${header64}.${payload64}`);
  const signature = Buffer.from(signature64, 'base64url');
  const ok =
    header.alg === 'PS256'
      ? verify(
          'sha256',
          data,
          { key, padding: cryptoConstants.RSA_PKCS1_PSS_PADDING, saltLength: 32 },
          signature,
        )
      : header.alg === 'RS256' && verify('sha256', data, key, signature);
  if (!ok) return `bad signature (${String(header.alg)})`;
  if (payload.iss !== clientId || payload.sub !== clientId) return 'iss/sub is not the client id';
  if (payload.aud !== audience) return `aud ${String(payload.aud)} is not ${audience}`;
  return undefined;
}

/**
 * A fake Entra ID authority following the v2.0 protocol MSAL speaks: OpenID configuration under
 * /{tenant}/v2.0/.well-known/openid-configuration and the client-credentials token endpoint accepting
 * client_secret or client_assertion (certificate or federated).
 */
export async function startEntra(pki: TestPki, book: TokenBook, options: EntraOptions): Promise<FakeEntra> {
  const issued: FakeEntra['issued'] = [];
  const script = [...(options.script ?? [])];
  let origin = '';
  const server = await startLoopback(pki, async (request) => {
    const tenant = options.tenant;
    if (request.method === 'GET' && request.path === `/${tenant}/v2.0/.well-known/openid-configuration`) {
      const base = `${origin}/${tenant}`;
      return {
        status: 200,
        body: {
          issuer: `${base}/v2.0`,
          authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
          token_endpoint: `${base}/oauth2/v2.0/token`,
          device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
          end_session_endpoint: `${base}/oauth2/v2.0/logout`,
          jwks_uri: `${base}/discovery/v2.0/keys`,
          token_endpoint_auth_methods_supported: [
            'client_secret_post',
            'private_key_jwt',
            'client_secret_basic',
          ],
          response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
          response_modes_supported: ['query', 'fragment', 'form_post'],
          subject_types_supported: ['pairwise'],
          id_token_signing_alg_values_supported: ['RS256'],
          scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
          http_logout_supported: true,
          frontchannel_logout_supported: true,
          request_uri_parameter_supported: false,
          tenant_region_scope: 'EU',
          cloud_instance_name: 'test.invalid',
        },
      };
    }
    if (request.method === 'POST' && request.path === `/${tenant}/oauth2/v2.0/token`) {
      if (options.delayMs !== undefined && options.delayMs > 0) {
        await new Promise((resolve) => setTimeout(resolve, options.delayMs));
      }
      const scripted = script.shift();
      if (scripted !== undefined) return scripted;
      if (options.fault !== undefined) return faultReply(options.fault);
      const form = request.form;
      if (form.grant_type !== 'client_credentials')
        return oauthError(400, 'unsupported_grant_type', String(form.grant_type));
      const client = options.clients.find((c) => c.clientId === form.client_id);
      if (client === undefined)
        return oauthError(
          400,
          'unauthorized_client',
          `AADSTS700016: application ${String(form.client_id)} not found`,
        );
      if ('secret' in client) {
        if (form.client_secret !== client.secret)
          return oauthError(401, 'invalid_client', 'AADSTS7000215: Invalid client secret provided.');
      } else {
        if (form.client_assertion_type !== CLIENT_ASSERTION_TYPE || form.client_assertion === undefined) {
          return oauthError(401, 'invalid_client', 'AADSTS7000216: client_assertion required');
        }
        const problem =
          'certificatePem' in client
            ? verifyCertificateAssertion(
                form.client_assertion,
                client.certificatePem,
                `${origin}/${tenant}/oauth2/v2.0/token`,
                client.clientId,
              )
            : client.federated(form.client_assertion)
              ? undefined
              : 'unknown federated assertion';
        if (problem !== undefined) return oauthError(401, 'invalid_client', `AADSTS700027: ${problem}`);
      }
      const scope = form.scope ?? '';
      if (!scope.endsWith('/.default')) return oauthError(400, 'invalid_scope', `AADSTS1002012: ${scope}`);
      if (options.refuseScopes?.includes(scope)) {
        return oauthError(
          400,
          'invalid_resource',
          `AADSTS500011: The resource principal named ${scope} was not found in the tenant.`,
        );
      }
      const audience = scope.slice(0, -'/.default'.length);
      const token = book.mint({
        aud: audience,
        tid: tenant,
        appid: client.clientId,
        iss: `${origin}/${tenant}/v2.0`,
      });
      issued.push({ token, scope, clientId: client.clientId });
      return {
        status: 200,
        body: { token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599, access_token: token },
      };
    }
    return { status: 404, body: { error: 'not_found', path: request.path } };
  });
  origin = server.origin;
  return Object.assign(server, { authority: `${origin}/`, issued });
}
