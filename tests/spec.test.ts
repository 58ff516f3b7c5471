import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { formatProblem, InputError } from '../tasks/BuildKitBuild/src/core/inputErrors';
import { BAD_INPUT_ENDPOINTS, BAD_INPUT_SECRETS } from './support/badInputConnections';
import { taskDefinition } from './support/repo';
import { parseStep } from './support/stepInputs';

/**
 * Bad values of every input, through the path a step takes (INPUT_* → readInputs → parseTaskSpec): each
 * must be refused with a problem of the input it names. The black-box runs of the bundled task keep a few
 * smoke cases of this table (tests/buildInputs/badInputs.blackbox.test.ts).
 */

const SECRETS = BAD_INPUT_SECRETS;
const ENDPOINTS = BAD_INPUT_ENDPOINTS;

interface BadInputCase {
  what: string;
  inputs: Record<string, string>;
  env?: Record<string, string>;
  /** Every input the problems must name, and no other. */
  names: string[];
}

const long = (n: number) => 'a'.repeat(n);

/** Cases over every input; each must be refused, naming the input. */
const CASES: BadInputCase[] = [
  { what: 'empty repository', inputs: { repository: '' }, names: ['repository'] },
  { what: 'uppercase repository', inputs: { repository: 'Team/App' }, names: ['repository'] },
  { what: 'empty path component', inputs: { repository: 'team//app' }, names: ['repository'] },
  { what: 'repository with a tag', inputs: { repository: 'team/app:1.0' }, names: ['repository'] },
  { what: 'repository starting with a separator', inputs: { repository: '-app' }, names: ['repository'] },
  {
    what: 'repository of 300 characters',
    inputs: { repository: `team/${long(300)}` },
    names: ['repository'],
  },
  {
    what: 'repository with shell metacharacters',
    inputs: { repository: 'app;rm -rf /' },
    names: ['repository'],
  },
  { what: 'tag starting with a dot', inputs: { tags: '.hidden' }, names: ['tags'] },
  { what: 'tag with a space', inputs: { tags: 'v1\nnot ok' }, names: ['tags'] },
  { what: 'tag of 129 characters', inputs: { tags: long(129) }, names: ['tags'] },
  { what: 'tag with a command substitution', inputs: { tags: '$(whoami)' }, names: ['tags'] },
  { what: 'only empty tag lines with push', inputs: { tags: '\n \n,' }, names: ['tags'] },
  { what: 'push not a boolean', inputs: { push: 'yes' }, names: ['push'] },
  {
    // The Dockerfile, looked for in the missing context, is missing too.
    what: 'missing context directory',
    inputs: { context: 'no-such-dir' },
    names: ['context', 'dockerfile'],
  },
  { what: 'missing Dockerfile', inputs: { dockerfile: 'Nope.Dockerfile' }, names: ['dockerfile'] },
  { what: 'build arg without key', inputs: { buildArgs: '=x' }, names: ['buildArgs'] },
  {
    what: 'bare build arg whose variable is unset',
    inputs: { buildArgs: 'A=1\nBKB_SURELY_UNSET_VARIABLE' },
    names: ['buildArgs'],
  },
  { what: 'label without key', inputs: { labels: '=value' }, names: ['labels'] },
  { what: 'label without value separator', inputs: { labels: 'just-a-key' }, names: ['labels'] },
  {
    what: 'add pipeline metadata not a boolean',
    inputs: { addPipelineMetadata: 'on' },
    names: ['addPipelineMetadata'],
  },
  { what: 'platform without arch', inputs: { platforms: 'linux' }, names: ['platforms'] },
  {
    what: 'platform with too many parts',
    inputs: { platforms: 'linux/arm64/v8/extra' },
    names: ['platforms'],
  },
  { what: 'target with spaces', inputs: { target: 'build stage' }, names: ['target'] },
  { what: 'secret without id', inputs: { secrets: 'src=./Dockerfile' }, names: ['secrets'] },
  { what: 'secret file missing', inputs: { secrets: 'id=npmrc,src=./no-such-file' }, names: ['secrets'] },
  {
    what: 'secret variable unset',
    inputs: { secrets: 'id=token,env=BKB_SURELY_UNSET_VARIABLE' },
    names: ['secrets'],
  },
  { what: 'named context without value', inputs: { buildContexts: 'base' }, names: ['buildContexts'] },
  {
    what: 'named context directory missing',
    inputs: { buildContexts: 'base=./no-such-dir' },
    names: ['buildContexts'],
  },
  { what: 'no-cache not a boolean', inputs: { noCache: 'maybe' }, names: ['noCache'] },
  { what: 'pull not a boolean', inputs: { pull: '1' }, names: ['pull'] },
  { what: 'unknown provenance mode', inputs: { provenance: 'full' }, names: ['provenance'] },
  {
    what: 'attestationManifest not a listed form',
    inputs: { sbom: 'true', attestationManifest: 'artifact' },
    names: ['attestationManifest'],
  },
  { what: 'sbom not a boolean', inputs: { sbom: 'yes please' }, names: ['sbom'] },
  { what: 'unknown cache kind', inputs: { cache: 'local' }, names: ['cache'] },
  { what: 'cache reference with spaces', inputs: { cacheRef: 'my registry/app cache' }, names: ['cacheRef'] },
  { what: 'unknown cache mode', inputs: { cacheMode: 'all' }, names: ['cacheMode'] },
  {
    what: 'cache source without type',
    inputs: { cacheFrom: 'ref=myacr.azurecr.io/app:cache' },
    names: ['cacheFrom'],
  },
  { what: 'cache destination without type', inputs: { cacheTo: 'mode=max' }, names: ['cacheTo'] },
  {
    what: 'daemon address with http scheme',
    inputs: { buildkitAddress: 'http://buildkitd:1234' },
    names: ['buildkitAddress'],
  },
  {
    what: 'daemon address without scheme',
    inputs: { buildkitAddress: 'buildkitd:1234' },
    names: ['buildkitAddress'],
  },
  { what: 'TLS certificate without key', inputs: { tlsCert: '{ws}/client.pem' }, names: ['tlsKey'] },
  { what: 'TLS key without certificate', inputs: { tlsKey: '{ws}/client-key.pem' }, names: ['tlsCert'] },
  { what: 'TLS CA file missing', inputs: { tlsCaCert: '{ws}/no-ca.pem' }, names: ['tlsCaCert'] },
  { what: 'version that is a word', inputs: { buildctlVersion: 'latest' }, names: ['buildctlVersion'] },
  { what: 'version with two parts', inputs: { buildctlVersion: '0.32' }, names: ['buildctlVersion'] },
  {
    what: 'digest too short',
    inputs: { buildctlVersion: '0.32.2@sha256:abc123' },
    names: ['buildctlVersion'],
  },
  {
    what: 'digest of another algorithm',
    inputs: { buildctlVersion: `0.32.2@md5:${'0'.repeat(32)}` },
    names: ['buildctlVersion'],
  },
  {
    what: 'download URL not http',
    inputs: { buildkitDownloadUrl: 'ftp://mirror.example/buildkit' },
    names: ['buildkitDownloadUrl'],
  },
  {
    what: 'download URL with a password in it',
    inputs: { buildkitDownloadUrl: 'https://bot:mirror-password-Zq81@mirror.example/buildkit' },
    names: ['buildkitDownloadUrl'],
  },
  {
    what: 'extra args with an unbalanced quote',
    inputs: { extraArgs: '--opt "build-arg:A=1' },
    names: ['extraArgs'],
  },
  {
    what: 'Azure connection without registry',
    inputs: { azureSubscription: 'arm', acr: '' },
    names: ['acr'],
  },
  {
    // Both connections at once is no longer a problem: the visible one decides (tests/registry/selection).
    what: 'Docker Registry connection whose registry is no registry address',
    inputs: { containerRegistry: 'ftp' },
    names: ['containerRegistry'],
  },
  {
    what: 'registry name that is not a host',
    inputs: { azureSubscription: 'arm', acr: 'not a host!' },
    names: ['acr'],
  },
  {
    what: 'several problems at once',
    inputs: { repository: 'UPPER', provenance: 'full', buildctlVersion: 'latest' },
    names: ['repository', 'provenance', 'buildctlVersion'],
  },
];

describe('parseTaskSpec: bad inputs, each refused naming the input', () => {
  let workspace: string;

  before(() => {
    workspace = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'bkb-bad-unit-')));
    fs.writeFileSync(path.join(workspace, 'Dockerfile'), 'FROM scratch\n');
    fs.writeFileSync(path.join(workspace, 'client.pem'), 'not really a certificate\n');
    fs.writeFileSync(path.join(workspace, 'client-key.pem'), 'not really a key\n');
  });

  after(() => {
    fs.rmSync(workspace, { recursive: true, force: true });
  });

  it('has a bad case for every input of task.json that can be wrong', () => {
    // Free text the task passes on as it is: any value is a valid one.
    const free = new Set(['azureSubscription', 'tlsServerName']);
    const named = new Set(CASES.flatMap((c) => c.names));
    assert.deepEqual(
      taskDefinition()
        .inputs.map((i) => i.name)
        .filter((name) => !free.has(name) && !named.has(name)),
      [],
      'inputs without a bad-input case',
    );
  });

  for (const testCase of CASES) {
    it(testCase.what, () => {
      const inputs = Object.fromEntries(
        Object.entries({
          repository: 'team/app',
          buildkitAddress: 'tcp://127.0.0.1:9',
          ...testCase.inputs,
        }).map(([k, v]) => [k, v.replace('{ws}', workspace)]),
      );
      let thrown: unknown;
      try {
        parseStep({ inputs, endpoints: ENDPOINTS, env: testCase.env ?? {}, workspace });
      } catch (error) {
        thrown = error;
      }
      assert.ok(thrown instanceof InputError, `refused with an InputError, got ${String(thrown)}`);
      assert.deepEqual(
        [...new Set(thrown.problems.map((p) => p.input))].sort(),
        [...testCase.names].sort(),
        thrown.message,
      );
      for (const problem of thrown.problems) {
        assert.ok(formatProblem(problem).startsWith(problem.input), formatProblem(problem));
        for (const secret of SECRETS) {
          assert.ok(
            !problem.message.includes(secret),
            `${problem.input} repeats a secret: ${problem.message}`,
          );
        }
      }
    });
  }
});
