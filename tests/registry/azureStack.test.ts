import * as assert from 'node:assert/strict';
import { unsupportedAzureConnection } from '../../tasks/BuildKitBuild/src/registry/azureStack';
import type { EndpointReader } from '../../tasks/BuildKitBuild/src/core/context';
import type { InputProblem } from '../../tasks/BuildKitBuild/src/core/inputErrors';
import { INPUT_NAMES, type RawInputs } from '../../tasks/BuildKitBuild/src/core/inputs';
import { parseRegistry } from '../../tasks/BuildKitBuild/src/registry/spec';
import { makeContext } from '../support/fakeContext';

/** An endpoint reader over one connection's data, case-insensitive like task-lib's (ENDPOINT_DATA_<ID>_<KEY>). */
function reader(data: Record<string, string>): EndpointReader {
  const find = (key: string): string | undefined =>
    Object.entries(data).find(([k]) => k.toLowerCase() === key.toLowerCase())?.[1];
  return {
    url: () => undefined,
    scheme: () => undefined,
    authParameter: () => undefined,
    data: (_id, key) => find(key),
  };
}

describe('unsupportedAzureConnection (Azure Stack and AD FS detection)', () => {
  it('refuses a connection whose data says AD FS is enabled, as azure-arm-rest reads it (EnableAdfsAuthentication)', () => {
    for (const flag of ['true', 'True', ' TRUE ']) {
      const refused = unsupportedAzureConnection(
        'C',
        reader({ environment: 'AzureCloud', EnableAdfsAuthentication: flag }),
      );
      assert.deepEqual(refused, { kind: 'adfsEnabled', detail: flag.trim() }, flag);
    }
    assert.equal(
      unsupportedAzureConnection(
        'C',
        reader({ environment: 'AzureCloud', EnableAdfsAuthentication: 'false' }),
      ),
      undefined,
    );
  });

  it('names the connection authority when AD FS is enabled and one is given', () => {
    const refused = unsupportedAzureConnection(
      'C',
      reader({ EnableAdfsAuthentication: 'true', environmentAuthorityUrl: 'https://login.contoso.example/' }),
    );
    assert.deepEqual(refused, { kind: 'adfs', detail: 'https://login.contoso.example/' });
  });

  it('still refuses Azure Stack by environment name and AD FS by authority URL, and accepts public clouds', () => {
    assert.equal(
      unsupportedAzureConnection('C', reader({ environment: ' azurestack ' }))?.kind,
      'azureStack',
    );
    assert.equal(
      unsupportedAzureConnection(
        'C',
        reader({ environmentAuthorityUrl: 'https://adfs.local.azurestack.external/adfs/' }),
      )?.kind,
      'adfs',
    );
    for (const environment of ['AzureCloud', 'AzureChinaCloud', 'AzureUSGovernment', ''])
      assert.equal(unsupportedAzureConnection('C', reader({ environment })), undefined, environment);
  });
});

describe('parseRegistry with an AD FS-enabled connection', () => {
  it('refuses it up front, naming the input and the flag, before the registry is looked at', () => {
    const ctx = makeContext({
      endpoints: {
        ADFS: { scheme: 'ServicePrincipal', parameters: {}, data: { EnableAdfsAuthentication: 'true' } },
      },
    });
    const values: Partial<Record<(typeof INPUT_NAMES)[number], string>> = {
      azureSubscription: 'ADFS',
      acr: 'myacr',
    };
    const raw = Object.fromEntries(INPUT_NAMES.map((n) => [n, values[n] ?? ''])) as RawInputs;
    const problems: InputProblem[] = [];
    parseRegistry(raw, ctx, problems);
    assert.deepEqual(
      problems.map((p) => p.input),
      ['azureSubscription'],
    );
    assert.match(
      problems[0]?.message ?? '',
      /Active Directory Federation Services authentication enabled \(EnableAdfsAuthentication 'true'\)/,
    );
  });
});
