import * as assert from 'node:assert/strict';
import {
  checkRegistryPermissions,
  type TokenRequester,
} from '../../tasks/BuildKitBuild/src/permission/check';
import { accessClaim, missingGrants } from '../../tasks/BuildKitBuild/src/permission/grants';
import { scopesFor, scopeText } from '../../tasks/BuildKitBuild/src/permission/scopes';
import { publicCloud } from '../../tasks/BuildKitBuild/src/registry/clouds';
import type { RegistrySpec } from '../../tasks/BuildKitBuild/src/registry/spec';
import { makeContext } from '../support/fakeContext';
import { tempDir } from '../support/fakeDaemon';
import { buildInputsFor, writeBuildContext } from '../support/buildInputs';

const HOST = 'myacr.azurecr.io';
const jwt = (claims: unknown): string =>
  `${Buffer.from('{"alg":"RS256"}').toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.c2ln`;

describe('the permission check (pure parts)', () => {
  let dir: string;
  before(() => {
    dir = tempDir();
    writeBuildContext(dir);
  });

  it('asks for pull,push on the image and on another cache repository, pull for cache sources on the same registry', () => {
    const inputs = buildInputsFor(
      dir,
      {
        cacheRef: `${HOST}/cache/app:bc`,
        cacheFrom: `type=registry,ref=${HOST}/base/app:cache\ntype=registry,ref=ghcr.io/other/app:cache\ntype=gha`,
      },
      HOST,
    );
    assert.deepEqual(scopesFor(inputs, HOST).map(scopeText), [
      'repository:team/app:pull,push',
      'repository:cache/app:pull,push',
      'repository:base/app:pull',
    ]);
  });

  it('asks only pull for a validation build, whose cache is read, not written', () => {
    const inputs = buildInputsFor(dir, { push: 'false' }, HOST);
    assert.deepEqual(scopesFor(inputs, HOST).map(scopeText), ['repository:team/app:pull']);
  });

  it('reads the access claim of a JWT, and nothing from an opaque token', () => {
    const access = [{ type: 'repository', name: 'team/app', actions: ['pull'] }];
    assert.deepEqual(accessClaim(jwt({ access })), access);
    assert.deepEqual(accessClaim(jwt({ access: null })), []);
    assert.equal(accessClaim('opaque-token'), undefined);
    assert.equal(accessClaim(jwt({ sub: 'x' })), undefined);
  });

  it('names the actions each repository lacks; * grants them all', () => {
    const scopes = [
      { repository: 'team/app', actions: ['pull', 'push'] as const },
      { repository: 'cache/app', actions: ['pull', 'push'] as const },
    ];
    assert.deepEqual(
      missingGrants(scopes, [
        { type: 'repository', name: 'team/app', actions: ['pull'] },
        { type: 'repository', name: 'cache/app', actions: ['*'] },
      ]),
      [{ repository: 'team/app', missing: ['push'] }],
    );
  });

  it('a scope-map token on a Docker Registry connection to ACR: fails naming content/write on the repository, the token masked', async () => {
    const inputs = buildInputsFor(dir, {}, HOST);
    const ctx = makeContext();
    const registry: RegistrySpec = { kind: 'dockerRegistry', endpointId: 'REG', host: HOST, configKey: HOST };
    const token = jwt({ access: [{ type: 'repository', name: 'team/app', actions: ['pull'] }] });
    const asked: string[] = [];
    const request: TokenRequester = (req) => {
      asked.push(`${req.apiHost} ${req.scope} ${req.auth.kind}`);
      return Promise.resolve({ kind: 'token', token });
    };
    await assert.rejects(
      checkRegistryPermissions(
        registry,
        inputs,
        [{ host: HOST, configKey: HOST, entry: { auth: Buffer.from('ci-token:pw').toString('base64') } }],
        ctx,
        new AbortController().signal,
        request,
      ),
      (error: Error) => {
        assert.match(
          error.message,
          /user ci-token may not push on myacr\.azurecr\.io\/team\/app: the registry granted it pull there\. If it is an ACR token, its scope map needs content\/read, content\/write on the repository team\/app/,
        );
        assert.ok(!error.message.includes(token));
        return true;
      },
    );
    assert.deepEqual(asked, [`${HOST} repository:team/app:pull,push basic`]);
    assert.ok(ctx.recorded.secrets.includes(token), 'the token was masked');
  });

  it('another registry on a Docker Registry connection is not asked at all', async () => {
    const inputs = buildInputsFor(dir, {}, 'ghcr.io');
    const registry: RegistrySpec = {
      kind: 'dockerRegistry',
      endpointId: 'REG',
      host: 'ghcr.io',
      configKey: 'ghcr.io',
    };
    let asked = 0;
    await checkRegistryPermissions(
      registry,
      inputs,
      [{ host: 'ghcr.io', configKey: 'ghcr.io', entry: { auth: Buffer.from('u:p').toString('base64') } }],
      makeContext(),
      new AbortController().signal,
      () => {
        asked++;
        return Promise.resolve({ kind: 'noBearer' });
      },
    );
    assert.equal(asked, 0);
  });

  it('a token service that fails is no verdict: the check is skipped and says so', async () => {
    const inputs = buildInputsFor(dir, {}, HOST);
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
      inputs,
      [{ host: HOST, configKey: HOST, entry: { identitytoken: 'rt' } }],
      ctx,
      new AbortController().signal,
      () => Promise.resolve({ kind: 'failed', detail: 'HTTP 503' }),
    );
    assert.ok(ctx.recorded.infos.some((l) => l.includes('were not checked before the build (HTTP 503)')));
  });
});
