import * as assert from 'node:assert/strict';
import { CancelledError } from '../../tasks/BuildKitBuild/src/core/cancellation';
import type { AccessToken, TokenCredential } from '@azure/identity';
import type { ExchangeOutcome, ExchangeRequest } from '../../tasks/BuildKitBuild/src/registry/acrExchange';
import {
  getRegistryCredentials,
  type CredentialDeps,
} from '../../tasks/BuildKitBuild/src/registry/credentials';
import { isServiceOutage } from '../../tasks/BuildKitBuild/src/registry/tokenFailure';
import { readAzureConnection } from '../../tasks/BuildKitBuild/src/registry/entra';
import type { RegistrySpec } from '../../tasks/BuildKitBuild/src/registry/spec';
import { cloudNamed, publicCloud } from '../../tasks/BuildKitBuild/src/registry/clouds';
import type { Endpoint } from '../support/agent';
import { makeContext } from '../support/fakeContext';

const AZURE: RegistrySpec = {
  kind: 'azure',
  endpointId: 'ARM',
  cloud: publicCloud(),
  host: 'myacr.azurecr.io',
  configKey: 'myacr.azurecr.io',
};
/** The ARM connection as parseRegistry hands it over: its endpoint and its cloud. */
const arm = (environment = 'AzureCloud') => ({
  endpointId: 'ARM',
  cloud: cloudNamed(environment) ?? assert.fail(environment),
});
const b64 = (s: string): string => Buffer.from(s).toString('base64');
const SP: Endpoint = {
  url: 'https://management.azure.com/',
  scheme: 'ServicePrincipal',
  parameters: {
    serviceprincipalid: 'app-1',
    authenticationType: 'spnKey',
    serviceprincipalkey: 'sp-secret',
    tenantid: 't-1',
  },
  data: { environment: 'AzureCloud' },
};
const ACR_SCOPE = 'https://containerregistry.azure.net/.default';
const ARM_SCOPE = 'https://management.azure.com/.default';

/** Fake edges: tokens per scope (an Error = Entra refuses), exchange answers per scope. */
function fakes(tokens: Record<string, string | Error>, answers: Record<string, ExchangeOutcome>) {
  const asked: string[] = [];
  const exchanged: ExchangeRequest[] = [];
  const credential: TokenCredential = {
    getToken: (scope) => {
      const key = Array.isArray(scope) ? String(scope[0]) : scope;
      asked.push(key);
      const value = tokens[key];
      if (value instanceof Error) return Promise.reject(value);
      return Promise.resolve<AccessToken>({
        token: value ?? 'none',
        expiresOnTimestamp: Date.now() + 3_600_000,
      });
    },
  };
  const deps: CredentialDeps = {
    createCredential: () => Promise.resolve(credential),
    exchange: (request) => {
      exchanged.push(request);
      const scope = Object.keys(tokens).find((s) => tokens[s] === request.accessToken) ?? '';
      return Promise.resolve(answers[scope] ?? { kind: 'failed', status: 500, detail: '' });
    },
  };
  return { deps, asked, exchanged };
}

const signal = new AbortController().signal;

describe('getRegistryCredentials', () => {
  it('uses the ACR audience first and masks the tokens it held', async () => {
    const ctx = makeContext({ endpoints: { ARM: SP } });
    const { deps, asked, exchanged } = fakes(
      { [ACR_SCOPE]: 'acr-token' },
      { [ACR_SCOPE]: { kind: 'ok', refreshToken: 'rt' } },
    );
    const result = await getRegistryCredentials(AZURE, { push: true }, ctx, signal, deps);
    assert.deepEqual(result, [
      {
        host: 'myacr.azurecr.io',
        configKey: 'myacr.azurecr.io',
        entry: { auth: b64('00000000-0000-0000-0000-000000000000:'), identitytoken: 'rt' },
        identity: 'service principal app-1 (secret)',
      },
    ]);
    assert.deepEqual(asked, [ACR_SCOPE]);
    assert.deepEqual(exchanged, [
      { loginServer: 'myacr.azurecr.io', tenant: 't-1', accessToken: 'acr-token' },
    ]);
    for (const s of ['sp-secret', 'acr-token', 'rt']) assert.ok(ctx.recorded.secrets.includes(s), s);
    assert.ok(ctx.recorded.infos.some((l) => l.includes('ACR-audience')));
  });

  it('falls back to ARM when the registry rejects the ACR audience or Entra ID refuses that scope', async () => {
    for (const acrSide of [
      { token: 'acr-token' as string | Error },
      { token: new Error('AADSTS500011: resource not found') },
    ]) {
      const ctx = makeContext({ endpoints: { ARM: SP } });
      const { deps, asked } = fakes(
        { [ACR_SCOPE]: acrSide.token, [ARM_SCOPE]: 'arm-token' },
        {
          [ACR_SCOPE]: { kind: 'rejected', status: 401, detail: '' },
          [ARM_SCOPE]: { kind: 'ok', refreshToken: 'rt2' },
        },
      );
      const result = await getRegistryCredentials(AZURE, { push: true }, ctx, signal, deps);
      assert.equal(result[0]?.entry.identitytoken, 'rt2');
      assert.deepEqual(asked, [ACR_SCOPE, ARM_SCOPE]);
      assert.ok(
        ctx.recorded.infos.some((l) => l.includes('Azure Resource Manager-audience Entra ID token.')),
      );
    }
  });

  it('names the role to grant when both audiences are refused: AcrPush, or AcrPull for validation builds', async () => {
    for (const [push, role] of [
      [true, 'AcrPush'],
      [false, 'AcrPull'],
    ] as const) {
      const ctx = makeContext({ endpoints: { ARM: SP } });
      const refused: ExchangeOutcome = { kind: 'rejected', status: 403, detail: 'denied' };
      const { deps } = fakes(
        { [ACR_SCOPE]: 'a', [ARM_SCOPE]: 'b' },
        { [ACR_SCOPE]: refused, [ARM_SCOPE]: refused },
      );
      await assert.rejects(getRegistryCredentials(AZURE, { push }, ctx, signal, deps), (e: Error) => {
        assert.match(e.message, new RegExp(`needs the ${role} role on this registry`));
        assert.match(e.message, /service principal app-1/);
        return true;
      });
    }
  });

  it('reports an identity Entra ID refuses as such, without trying another audience', async () => {
    const ctx = makeContext({ endpoints: { ARM: SP } });
    const { deps, asked } = fakes(
      {
        [ACR_SCOPE]: new Error('invalid_client: AADSTS7000215: Invalid client secret provided.'),
        [ARM_SCOPE]: 'arm-token',
      },
      { [ARM_SCOPE]: { kind: 'ok', refreshToken: 'rt' } },
    );
    await assert.rejects(getRegistryCredentials(AZURE, { push: true }, ctx, signal, deps), (e: Error) => {
      assert.match(
        e.message,
        /^Entra ID refused the identity service principal app-1 \(secret\): .*AADSTS7000215/,
      );
      assert.match(e.message, /client secret may have expired/);
      assert.doesNotMatch(e.message, /registry|AcrPush/);
      return true;
    });
    assert.deepEqual(asked, [ACR_SCOPE], 'no second audience');
    assert.ok(!ctx.recorded.infos.some((l) => l.includes('trying an Azure Resource Manager-audience token')));
  });

  it('ends a token request Entra ID never answers as soon as the run is cancelled', async () => {
    const ctx = makeContext({ endpoints: { ARM: SP } });
    const run = new AbortController();
    const deps: CredentialDeps = {
      createCredential: () =>
        Promise.resolve({
          // Like @azure/identity's credentials: the signal is not passed on to the request that hangs.
          getToken: () => {
            run.abort('SIGTERM');
            return new Promise(() => undefined);
          },
        }),
      exchange: () => Promise.reject(new Error('not reached')),
    };
    await assert.rejects(
      getRegistryCredentials(AZURE, { push: true }, ctx, run.signal, deps),
      (e: unknown) => e instanceof CancelledError && e.signal === 'SIGTERM',
    );
  });

  it('reports a server failure without trying another audience', async () => {
    const ctx = makeContext({ endpoints: { ARM: SP } });
    const { deps, asked } = fakes(
      { [ACR_SCOPE]: 'a' },
      { [ACR_SCOPE]: { kind: 'failed', status: 502, detail: 'bad gateway' } },
    );
    await assert.rejects(
      getRegistryCredentials(AZURE, { push: true }, ctx, signal, deps),
      /failed \(HTTP 502\): bad gateway/,
    );
    assert.deepEqual(asked, [ACR_SCOPE]);
  });

  it('reads a Docker Registry connection and masks its password', async () => {
    const ctx = makeContext({
      endpoints: {
        HUB: {
          url: 'https://index.docker.io/v1/',
          scheme: 'UsernamePassword',
          parameters: { registry: 'https://index.docker.io/v1/', username: 'u', password: 'p@ss' },
        },
      },
    });
    const spec: RegistrySpec = {
      kind: 'dockerRegistry',
      endpointId: 'HUB',
      host: 'docker.io',
      configKey: 'https://index.docker.io/v1/',
    };
    assert.deepEqual(await getRegistryCredentials(spec, { push: true }, ctx, signal), [
      { host: 'docker.io', configKey: 'https://index.docker.io/v1/', entry: { auth: b64('u:p@ss') } },
    ]);
    assert.deepEqual(ctx.recorded.secrets, ['p@ss', b64('u:p@ss')]);
  });

  it('needs no credentials without a connection', async () => {
    assert.deepEqual(
      await getRegistryCredentials({ kind: 'none' }, { push: true }, makeContext(), signal),
      [],
    );
  });
});

describe('isServiceOutage', () => {
  const rows: [string, unknown, boolean][] = [
    ['a 503 status', Object.assign(new Error('x'), { statusCode: 503 }), true],
    ['a 429 status', Object.assign(new Error('x'), { statusCode: 429 }), true],
    ['a 401 status', Object.assign(new Error('invalid_client'), { statusCode: 401 }), false],
    ['an MSAL temporarily_unavailable', new Error('temporarily_unavailable: Error(s): Not Available'), true],
    [
      'an OIDC answer with status 503',
      new Error('oidcToken field not detected. Status code: 503 More'),
      true,
    ],
    ['an invalid client secret', new Error('AADSTS7000215: Invalid client secret provided.'), false],
    ['not an error at all', 'boom', false],
  ];
  for (const [what, error, outage] of rows) {
    it(`${what}: ${outage ? 'the service' : 'the identity'}`, () => {
      assert.equal(isServiceOutage(error), outage);
    });
  }
});

describe('readAzureConnection', () => {
  const authority = 'https://127.0.0.1:4443/';
  it('reads a secret service principal: authority from the data, instance discovery off for private authorities', () => {
    const ctx = makeContext({
      endpoints: { ARM: { ...SP, data: { environment: 'AzureCloud', activeDirectoryAuthority: authority } } },
    });
    const connection = readAzureConnection(arm(), ctx);
    assert.deepEqual(connection, {
      endpointId: 'ARM',
      identity: { kind: 'secret', tenantId: 't-1', clientId: 'app-1', secret: 'sp-secret' },
      authorityHost: authority,
      disableInstanceDiscovery: true,
      acrScope: ACR_SCOPE,
      armScope: ARM_SCOPE,
    });
    assert.deepEqual(ctx.recorded.secrets, ['sp-secret']);
  });

  it('keeps instance discovery for public clouds and uses the cloud scopes of sovereign clouds', () => {
    const ctx = makeContext({
      endpoints: {
        ARM: {
          ...SP,
          url: 'https://management.chinacloudapi.cn',
          data: {
            environment: 'AzureChinaCloud',
            environmentAuthorityUrl: 'https://login.chinacloudapi.cn/',
          },
        },
      },
    });
    const connection = readAzureConnection(arm('AzureChinaCloud'), ctx);
    assert.equal(connection.disableInstanceDiscovery, false);
    assert.equal(connection.acrScope, 'https://containerregistry.azure.cn/.default');
    assert.equal(connection.armScope, 'https://management.chinacloudapi.cn/.default');
  });

  it('masks every line of a certificate connection key and rejects a PEM without key', () => {
    const pem =
      '-----BEGIN CERTIFICATE-----\nCERTLINE\n-----END CERTIFICATE-----\n-----BEGIN PRIVATE KEY-----\nKEYLINE1\nKEYLINE2\n-----END PRIVATE KEY-----\n';
    const cert = (value: string): Endpoint => ({
      ...SP,
      parameters: {
        serviceprincipalid: 'app-2',
        authenticationType: 'spnCertificate',
        servicePrincipalCertificate: value,
        tenantid: 't-1',
      },
    });
    const ctx = makeContext({ endpoints: { ARM: cert(pem) } });
    assert.equal(readAzureConnection(arm(), ctx).identity.kind, 'certificate');
    for (const line of ['KEYLINE1', 'KEYLINE2']) assert.ok(ctx.recorded.secrets.includes(line));
    assert.throws(
      () =>
        readAzureConnection(
          arm(),
          makeContext({
            endpoints: { ARM: cert('-----BEGIN CERTIFICATE-----\nX\n-----END CERTIFICATE-----') },
          }),
        ),
      /PEM file holding both/,
    );
  });

  it('reads workload identity federation with the System.AccessToken, and says what is missing without it', () => {
    const wif: Endpoint = {
      url: 'https://management.azure.com/',
      scheme: 'WorkloadIdentityFederation',
      parameters: { serviceprincipalid: 'app-3', tenantid: 't-1' },
    };
    const ctx = makeContext({
      endpoints: {
        ARM: wif,
        SYSTEMVSSCONNECTION: { scheme: 'OAuth', parameters: { AccessToken: 'sys-token' } },
      },
      variables: { 'System.OidcRequestUri': 'https://dev.azure.com/org/oidc' },
    });
    assert.deepEqual(readAzureConnection(arm(), ctx).identity, {
      kind: 'federated',
      tenantId: 't-1',
      clientId: 'app-3',
      serviceConnectionId: 'ARM',
      systemAccessToken: 'sys-token',
    });
    assert.deepEqual(ctx.recorded.secrets, ['sys-token']);
    // Without the system connection: the task is not run by an Azure Pipelines agent, which always hands
    // it over; the job's OAuth token settings have nothing to do with it.
    assert.throws(
      () =>
        readAzureConnection(
          arm(),
          makeContext({
            endpoints: { ARM: wif },
            variables: { 'System.OidcRequestUri': 'https://dev.azure.com/org/oidc' },
          }),
        ),
      (e: Error) =>
        /SystemVssConnection\), and the task received none: an Azure Pipelines agent hands it to every task/.test(
          e.message,
        ) && !/upgrade|3\.232|allow the job/i.test(e.message),
    );
    // Without System.OidcRequestUri: a job variable only Azure DevOps Services sets.
    assert.throws(
      () =>
        readAzureConnection(
          arm(),
          makeContext({
            endpoints: {
              ARM: wif,
              SYSTEMVSSCONNECTION: { scheme: 'OAuth', parameters: { AccessToken: 'sys-token' } },
            },
          }),
        ),
      (e: Error) =>
        /needs the job variable System\.OidcRequestUri, which Azure DevOps did not set for this job/.test(
          e.message,
        ) && !/upgrade|3\.232|allow the job/i.test(e.message),
    );
  });

  it('reads a managed identity with or without a user-assigned client id', () => {
    const msi = (data: Record<string, string>): Endpoint => ({
      scheme: 'ManagedServiceIdentity',
      parameters: { tenantid: 't-1' },
      data,
    });
    assert.deepEqual(
      readAzureConnection(arm(), makeContext({ endpoints: { ARM: msi({ msiclientId: 'mi-1' }) } })).identity,
      { kind: 'managed', tenantId: 't-1', clientId: 'mi-1' },
    );
    assert.deepEqual(readAzureConnection(arm(), makeContext({ endpoints: { ARM: msi({}) } })).identity, {
      kind: 'managed',
      tenantId: 't-1',
      clientId: undefined,
    });
  });

  it('names the missing parameter and refuses unknown schemes', () => {
    const broken: Endpoint = {
      scheme: 'ServicePrincipal',
      parameters: { tenantid: 't-1', serviceprincipalid: 'app' },
    };
    assert.throws(
      () => readAzureConnection(arm(), makeContext({ endpoints: { ARM: broken } })),
      /no 'serviceprincipalkey' parameter/,
    );
    const publish: Endpoint = { scheme: 'PublishProfile', parameters: {} };
    assert.throws(
      () => readAzureConnection(arm(), makeContext({ endpoints: { ARM: publish } })),
      /'PublishProfile' scheme/,
    );
  });
});
