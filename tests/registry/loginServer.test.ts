import * as assert from 'node:assert/strict';
import { resolveLoginServer } from '../../tasks/BuildKitBuild/src/registry/loginServer';
import { registryAddress } from '../../tasks/BuildKitBuild/src/registry/dockerRegistry';
import { cloudNamed } from '../../tasks/BuildKitBuild/src/registry/clouds';

describe('resolveLoginServer (acr input)', () => {
  const cases: [string, string | undefined, ReturnType<typeof resolveLoginServer>][] = [
    ['myacr', 'AzureCloud', { kind: 'ok', host: 'myacr.azurecr.io' }],
    ['MyAcr01', undefined, { kind: 'ok', host: 'myacr01.azurecr.io' }],
    ['  myacr  ', '', { kind: 'ok', host: 'myacr.azurecr.io' }],
    ['myacr', 'AzureChinaCloud', { kind: 'ok', host: 'myacr.azurecr.cn' }],
    ['myacr', 'azureusgovernment', { kind: 'ok', host: 'myacr.azurecr.us' }],
    ['myacr', 'AzureStack', { kind: 'unknownCloud' }],
    ['myacr.azurecr.io', 'AzureChinaCloud', { kind: 'ok', host: 'myacr.azurecr.io' }],
    ['MyAcr.AzureCR.cn', 'AzureCloud', { kind: 'ok', host: 'myacr.azurecr.cn' }],
    ['127.0.0.1:5000', 'AzureCloud', { kind: 'ok', host: '127.0.0.1:5000' }],
    ['localhost:5000', undefined, { kind: 'ok', host: 'localhost:5000' }],
    ['registry.local.contoso.com', 'AzureStack', { kind: 'ok', host: 'registry.local.contoso.com' }],
    ['acr', 'AzureCloud', { kind: 'invalid' }],
    ['my-acr', 'AzureCloud', { kind: 'invalid' }],
    ['https://myacr.azurecr.io', 'AzureCloud', { kind: 'invalid' }],
    ['myacr.azurecr.io/team', 'AzureCloud', { kind: 'invalid' }],
    ['my acr', 'AzureCloud', { kind: 'invalid' }],
    ['host:99999', 'AzureCloud', { kind: 'invalid' }],
    ['host:', 'AzureCloud', { kind: 'invalid' }],
    ['-bad.example.com', 'AzureCloud', { kind: 'invalid' }],
    ['a'.repeat(51), 'AzureCloud', { kind: 'invalid' }],
  ];
  for (const [acr, environment, expected] of cases) {
    it(`${JSON.stringify(acr)} in ${String(environment)} → ${JSON.stringify(expected)}`, () => {
      assert.deepEqual(resolveLoginServer(acr, cloudNamed(environment)), expected);
    });
  }
});

describe('registryAddress (Docker Registry connection URL)', () => {
  const cases: [string, ReturnType<typeof registryAddress>][] = [
    ['https://index.docker.io/v1/', { host: 'docker.io', configKey: 'https://index.docker.io/v1/' }],
    ['docker.io', { host: 'docker.io', configKey: 'https://index.docker.io/v1/' }],
    ['https://registry-1.docker.io', { host: 'docker.io', configKey: 'https://index.docker.io/v1/' }],
    ['https://ghcr.io', { host: 'ghcr.io', configKey: 'ghcr.io' }],
    ['https://GHCR.io/', { host: 'ghcr.io', configKey: 'ghcr.io' }],
    [
      'registry.example.com:5000',
      { host: 'registry.example.com:5000', configKey: 'registry.example.com:5000' },
    ],
    ['http://127.0.0.1:5000/v2/', { host: '127.0.0.1:5000', configKey: '127.0.0.1:5000' }],
    ['', undefined],
    ['ftp://files.example.com', undefined],
    ['https://user:pw@ghcr.io', undefined],
    ['https://exa mple.com', undefined],
  ];
  for (const [raw, expected] of cases) {
    it(`${JSON.stringify(raw)} → ${JSON.stringify(expected)}`, () => {
      assert.deepEqual(registryAddress(raw), expected);
    });
  }
});
