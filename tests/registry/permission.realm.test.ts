import * as assert from 'node:assert/strict';
import {
  createHttpHeaders,
  type HttpClient,
  type PipelineRequest,
  type PipelineResponse,
} from '@azure/core-rest-pipeline';
import { checkRegistryPermissions } from '../../tasks/BuildKitBuild/src/permission/check';
import { requestRegistryToken } from '../../tasks/BuildKitBuild/src/permission/registryToken';
import { publicCloud } from '../../tasks/BuildKitBuild/src/registry/clouds';
import type { RegistrySpec } from '../../tasks/BuildKitBuild/src/registry/spec';
import { buildInputsFor, writeBuildContext } from '../support/buildInputs';
import { makeContext } from '../support/fakeContext';
import { tempDir } from '../support/fakeDaemon';

const HOST = 'myacr.azurecr.io';
const PASSWORD = 'scope-map-token-pa55';
const REFRESH = 'entra-refresh-token-value';

/**
 * A transport standing in for the network: `/v2/` on the registry answers a bearer challenge naming
 * `realm`, and the token service (wherever it is) answers a token. Every request is recorded.
 */
function registryWithRealm(realm: string): { client: HttpClient; seen: PipelineRequest[] } {
  const seen: PipelineRequest[] = [];
  const client: HttpClient = {
    sendRequest(request: PipelineRequest): Promise<PipelineResponse> {
      seen.push(request);
      const url = new URL(request.url);
      const reply = (status: number, headers: Record<string, string>, body: string): PipelineResponse => ({
        request,
        status,
        headers: createHttpHeaders(headers),
        bodyAsText: body,
      });
      if (url.pathname === '/v2/')
        return Promise.resolve(
          reply(401, { 'www-authenticate': `Bearer realm="${realm}",service="${HOST}"` }, '{}'),
        );
      return Promise.resolve(reply(200, { 'content-type': 'application/json' }, '{"access_token":"a.b.c"}'));
    },
  };
  return { client, seen };
}

function credentialsIn(request: PipelineRequest): boolean {
  const text = `${request.headers.get('authorization') ?? ''} ${typeof request.body === 'string' ? request.body : ''}`;
  return (
    text.includes(REFRESH) ||
    text.includes(Buffer.from(`builder:${PASSWORD}`).toString('base64')) ||
    text.includes(PASSWORD)
  );
}

describe('the permission check token request: no credential to a token service on another host', () => {
  const auths = [
    { kind: 'refreshToken', refreshToken: REFRESH },
    { kind: 'basic', username: 'builder', password: PASSWORD },
  ] as const;

  for (const realm of [
    'https://evil.example/oauth2/token',
    `https://${HOST}.evil.example/oauth2/token`,
    `http://${HOST}/oauth2/token`,
    `https://${HOST}:8443/oauth2/token`,
  ]) {
    for (const auth of auths) {
      it(`a challenge naming ${realm} (${auth.kind}): nothing is sent there, and the check is not judged`, async () => {
        const { client, seen } = registryWithRealm(realm);
        const outcome = await requestRegistryToken(
          {
            apiHost: HOST,
            scope: 'repository:team/app:pull,push',
            auth,
            onSecret: () => undefined,
            httpClient: client,
          },
          new AbortController().signal,
        );
        assert.deepEqual(
          seen.map((r) => new URL(r.url).origin),
          [`https://${HOST}`],
          'only the registry itself was asked',
        );
        assert.ok(!seen.some(credentialsIn), 'no credential left the task');
        assert.deepEqual(outcome, { kind: 'foreignTokenService', host: new URL(realm).host });
      });
    }
  }

  it('a token service on the registry itself gets the credential and answers the token', async () => {
    const { client, seen } = registryWithRealm(`https://${HOST}/oauth2/token`);
    const outcome = await requestRegistryToken(
      {
        apiHost: HOST,
        scope: 'repository:team/app:pull,push',
        auth: auths[0],
        onSecret: () => undefined,
        httpClient: client,
      },
      new AbortController().signal,
    );
    assert.deepEqual(outcome, { kind: 'token', token: 'a.b.c' });
    assert.equal(seen.length, 2);
    assert.ok(credentialsIn(seen[1] as PipelineRequest));
  });
});

describe('the permission check with a token service on another host', () => {
  it('is skipped, saying where the token service is and that it was sent nothing; the build goes on', async () => {
    const dir = tempDir();
    writeBuildContext(dir);
    const ctx = makeContext();
    const registry: RegistrySpec = {
      kind: 'azure',
      endpointId: 'ARM',
      cloud: publicCloud(),
      host: HOST,
      configKey: HOST,
    };
    await checkRegistryPermissions(
      registry,
      buildInputsFor(dir, {}, HOST),
      [{ host: HOST, configKey: HOST, entry: { identitytoken: REFRESH } }],
      ctx,
      new AbortController().signal,
      () => Promise.resolve({ kind: 'foreignTokenService', host: 'evil.example' }),
    );
    assert.ok(
      ctx.recorded.infos.some((l) =>
        l.includes(
          `The rights on ${HOST} were not checked before the build (its token service is on another host (evil.example), which is sent no credentials)`,
        ),
      ),
      ctx.recorded.infos.join('\n'),
    );
  });
});
