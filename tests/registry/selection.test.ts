import * as assert from 'node:assert/strict';
import type { InputProblem } from '../../tasks/BuildKitBuild/src/core/inputErrors';
import { INPUT_NAMES, type RawInputs } from '../../tasks/BuildKitBuild/src/core/inputs';
import { parseRegistry, type RegistrySpec } from '../../tasks/BuildKitBuild/src/registry/spec';
import { publicCloud } from '../../tasks/BuildKitBuild/src/registry/clouds';
import { makeContext } from '../support/fakeContext';
import { taskDefinition } from '../support/repo';

/**
 * Which service connection the task uses is what the task's editor shows. task.json's visibleRules make
 * azureSubscription the selector; the classic editor keeps the value of an input it hides, so a definition
 * switched from one connection type to the other still sends the old one.
 */

type Values = Partial<Record<(typeof INPUT_NAMES)[number], string>>;

const ENDPOINTS = {
  ARM: { scheme: 'ServicePrincipal', parameters: {}, data: { environment: 'AzureCloud' } },
  HUB: {
    url: 'https://index.docker.io/v1/',
    scheme: 'UsernamePassword',
    parameters: { registry: 'https://index.docker.io/v1/' },
  },
};

function run(values: Values): {
  spec: RegistrySpec;
  problems: InputProblem[];
  infos: string[];
  warnings: string[];
} {
  const raw = Object.fromEntries(INPUT_NAMES.map((n) => [n, values[n] ?? ''])) as RawInputs;
  const ctx = makeContext({ endpoints: ENDPOINTS });
  const problems: InputProblem[] = [];
  const spec = parseRegistry(raw, ctx, problems);
  return { spec, problems, infos: ctx.recorded.infos, warnings: ctx.recorded.warnings };
}

const AZURE: RegistrySpec = {
  kind: 'azure',
  endpointId: 'ARM',
  cloud: publicCloud(),
  host: 'myacr.azurecr.io',
  configKey: 'myacr.azurecr.io',
};
const DOCKER: RegistrySpec = {
  kind: 'dockerRegistry',
  endpointId: 'HUB',
  host: 'docker.io',
  configKey: 'https://index.docker.io/v1/',
};

interface Row {
  name: string;
  values: Values;
  spec: RegistrySpec;
  /** The one log line, when a hidden value was ignored: it names the connection used and the ignored input. */
  log: RegExp | undefined;
}

const rows: Row[] = [
  {
    name: 'switched from a Docker Registry connection to an Azure one: containerRegistry is hidden',
    values: { azureSubscription: 'ARM', acr: 'myacr', containerRegistry: 'HUB' },
    spec: AZURE,
    log: /Azure Resource Manager service connection in azureSubscription\. containerRegistry also has a value.*hides while azureSubscription is set: it is ignored/,
  },
  {
    name: 'switched from an Azure connection to a Docker Registry one: acr is hidden',
    values: { containerRegistry: 'HUB', acr: 'myacr' },
    spec: DOCKER,
    log: /Docker Registry service connection in containerRegistry\. acr also has a value.*hides while azureSubscription is empty: it is ignored/,
  },
  {
    name: 'an Azure connection alone says nothing more',
    values: { azureSubscription: 'ARM', acr: 'myacr' },
    spec: AZURE,
    log: undefined,
  },
  {
    name: 'a Docker Registry connection alone says nothing more',
    values: { containerRegistry: 'HUB' },
    spec: DOCKER,
    log: undefined,
  },
];

describe('registry connection selection', () => {
  for (const row of rows) {
    it(row.name, () => {
      const { spec, problems, infos, warnings } = run(row.values);
      assert.deepEqual(problems, []);
      assert.deepEqual(spec, row.spec);
      assert.deepEqual(warnings, []);
      if (row.log === undefined) assert.deepEqual(infos, []);
      else {
        assert.equal(infos.length, 1, infos.join('\n'));
        assert.match(infos[0] ?? '', row.log);
      }
    });
  }

  it('follows the visibleRules of task.json: azureSubscription shows acr and hides containerRegistry', () => {
    const rules = new Map(taskDefinition().inputs.map((i) => [i.name, i.visibleRule]));
    assert.equal(rules.get('azureSubscription'), undefined);
    assert.equal(rules.get('acr'), 'azureSubscription != ""');
    assert.equal(rules.get('containerRegistry'), 'azureSubscription = ""');
  });
});
