import * as assert from 'node:assert/strict';
import type { InputProblem } from '../../tasks/BuildKitBuild/src/core/inputErrors';
import { INPUT_NAMES, type RawInputs } from '../../tasks/BuildKitBuild/src/core/inputs';
import { parseRegistry, registryHost } from '../../tasks/BuildKitBuild/src/registry/spec';
import { cloudNamed } from '../../tasks/BuildKitBuild/src/registry/clouds';
import { makeContext } from '../support/fakeContext';

function raw(values: Partial<Record<(typeof INPUT_NAMES)[number], string>>): RawInputs {
  return Object.fromEntries(INPUT_NAMES.map((n) => [n, values[n] ?? ''])) as RawInputs;
}

const ctx = makeContext({
  endpoints: {
    ARM: { scheme: 'ServicePrincipal', parameters: {}, data: { environment: 'AzureChinaCloud' } },
    STACK: { scheme: 'ServicePrincipal', parameters: {}, data: { environment: 'AzureStack' } },
    HUB: {
      url: 'https://index.docker.io/v1/',
      scheme: 'UsernamePassword',
      parameters: { registry: 'https://index.docker.io/v1/' },
    },
    GHCR: { url: 'https://ghcr.io', scheme: 'UsernamePassword', parameters: {} },
    EMPTY: { scheme: 'UsernamePassword', parameters: {} },
  },
});

function parse(values: Parameters<typeof raw>[0]): {
  spec: ReturnType<typeof parseRegistry>;
  problems: InputProblem[];
} {
  const problems: InputProblem[] = [];
  return { spec: parseRegistry(raw(values), ctx, problems), problems };
}

describe('parseRegistry', () => {
  it('gives a bare acr the suffix of the connection cloud, and carries that cloud, host and config key', () => {
    const { spec, problems } = parse({ azureSubscription: 'ARM', acr: 'myacr' });
    assert.deepEqual(problems, []);
    assert.deepEqual(spec, {
      kind: 'azure',
      endpointId: 'ARM',
      cloud: cloudNamed('AzureChinaCloud'),
      host: 'myacr.azurecr.cn',
      configKey: 'myacr.azurecr.cn',
    });
  });

  it('requires acr with azureSubscription', () => {
    const { spec, problems } = parse({ azureSubscription: 'ARM' });
    assert.equal(registryHost(spec), undefined);
    assert.deepEqual(
      problems.map((p) => p.input),
      ['acr'],
    );
    assert.match(problems[0]?.message ?? '', /required with azureSubscription/);
  });

  it('names acr for a value that is no registry, and for a bare name in a cloud without ACR domain', () => {
    assert.match(
      parse({ azureSubscription: 'ARM', acr: 'https://x.io' }).problems[0]?.message ?? '',
      /neither an ACR name/,
    );
    // An Azure Stack Hub connection is refused before its registry is looked at (registry/azureStack.ts).
    const stack = parse({ azureSubscription: 'STACK', acr: 'myacr' }).problems;
    assert.deepEqual(
      stack.map((p) => p.input),
      ['azureSubscription'],
    );
    assert.match(
      stack[0]?.message ?? '',
      /is for Azure Stack Hub \(environment 'AzureStack'\), which this task does not support/,
    );
  });

  it('uses the Azure connection when containerRegistry is also set (hidden in the editor)', () => {
    const { spec, problems } = parse({ azureSubscription: 'ARM', acr: 'myacr', containerRegistry: 'HUB' });
    assert.equal(spec.kind, 'azure');
    assert.deepEqual(problems, []);
  });

  it('takes Docker Hub and other registries from a Docker Registry connection, ignoring a hidden acr', () => {
    assert.deepEqual(parse({ containerRegistry: 'HUB', acr: 'leftover' }), {
      spec: {
        kind: 'dockerRegistry',
        endpointId: 'HUB',
        host: 'docker.io',
        configKey: 'https://index.docker.io/v1/',
      },
      problems: [],
    });
    assert.equal(registryHost(parse({ containerRegistry: 'GHCR' }).spec), 'ghcr.io');
    assert.match(parse({ containerRegistry: 'EMPTY' }).problems[0]?.message ?? '', /names no registry/);
  });

  it('with neither connection: no host (repository is a full name), and acr alone is a problem', () => {
    assert.deepEqual(parse({}), { spec: { kind: 'none' }, problems: [] });
    assert.deepEqual(
      parse({ acr: 'myacr' }).problems.map((p) => p.input),
      ['acr'],
    );
  });
});
