import * as assert from 'node:assert/strict';
import type { InputProblem } from '../../tasks/BuildKitBuild/src/core/inputErrors';
import { INPUT_NAMES, type RawInputs } from '../../tasks/BuildKitBuild/src/core/inputs';
import { parseRegistry } from '../../tasks/BuildKitBuild/src/registry/spec';
import { makeContext } from '../support/fakeContext';

/** parseRegistry for an ACR-type Docker Registry connection whose login server is `loginServer`. */
function parse(loginServer: string): { host: string | undefined; problems: InputProblem[] } {
  const ctx = makeContext({
    endpoints: {
      REG: {
        url: `https://${loginServer}`,
        scheme: 'ServicePrincipal',
        parameters: { loginServer, serviceprincipalid: 'id', serviceprincipalkey: 'key', tenantid: 't' },
        data: { registrytype: 'ACR' },
      },
    },
  });
  const raw = Object.fromEntries(
    INPUT_NAMES.map((n) => [n, n === 'containerRegistry' ? 'REG' : '']),
  ) as RawInputs;
  const problems: InputProblem[] = [];
  const spec = parseRegistry(raw, ctx, problems);
  return { host: spec.kind === 'none' ? undefined : spec.host, problems };
}

describe('ACR-type Docker Registry connection: the login server gets an Entra ID token', () => {
  it('is refused up front when it is not an Azure Container Registry host, naming the input and the host', () => {
    for (const host of [
      'evil.example',
      'myacr.azurecr.io.evil.example',
      'azurecr.io',
      'management.azure.com',
      'evil.example:8443',
    ]) {
      const { host: parsed, problems } = parse(host);
      assert.equal(parsed, undefined, host);
      assert.deepEqual(
        problems.map((p) => p.input),
        ['containerRegistry'],
        host,
      );
      assert.match(
        problems[0]?.message ?? '',
        new RegExp(`'${host.replace(/\./g, '\\.')}' is not an Azure Container Registry`),
        host,
      );
    }
  });

  it('accepts the registries of the clouds the task supports, in any case, and a loopback registry (tests, local mirrors)', () => {
    for (const [given, host] of [
      ['myacr.azurecr.io', 'myacr.azurecr.io'],
      ['MyAcr.AzureCR.io', 'myacr.azurecr.io'],
      ['team-acr.azurecr.cn', 'team-acr.azurecr.cn'],
      ['gov.azurecr.us', 'gov.azurecr.us'],
      ['127.0.0.1:5000', '127.0.0.1:5000'],
      ['localhost:5000', 'localhost:5000'],
    ] as const) {
      assert.deepEqual(parse(given), { host, problems: [] }, given);
    }
  });
});
