import * as assert from 'node:assert/strict';
import { classifyTokenFailure, type TokenFailure } from '../../tasks/BuildKitBuild/src/registry/tokenFailure';
import type { HttpAttempt } from '../../tasks/BuildKitBuild/src/registry/httpBounds';

const ENTRA = 'https://login.microsoftonline.com/t-1/oauth2/v2.0/token';
const OIDC = 'https://dev.azure.com/org/_apis/distributedtask/hubs/build/plans/1/jobs/2/oidctoken';

const answered = (status: number, error?: string, description?: string): HttpAttempt => ({
  kind: 'answered',
  endpoint: ENTRA,
  status,
  ...(error === undefined ? {} : { error }),
  ...(description === undefined ? {} : { description }),
});

/** Error thrown by the library, last attempt on the wire, OIDC endpoint of the connection → judgement. */
const ROWS: {
  what: string;
  error: unknown;
  attempt: HttpAttempt | undefined;
  oidc?: string;
  expected: TokenFailure;
}[] = [
  {
    what: 'the last attempt got no answer in time',
    error: new Error('network_error'),
    attempt: { kind: 'timedOut', endpoint: ENTRA, timeoutMs: 30_000 },
    expected: { kind: 'timeout', endpoint: ENTRA, timeoutMs: 30_000 },
  },
  {
    what: 'the connection was refused (a proxy or firewall)',
    error: new Error('endpoints_resolution_error: check the service connection'),
    attempt: { kind: 'unreachable', endpoint: ENTRA, detail: 'ECONNREFUSED' },
    expected: { kind: 'unreachable', endpoint: ENTRA, detail: 'ECONNREFUSED' },
  },
  {
    what: 'the proxy refused the proxy credentials',
    error: new Error('invalid_client'),
    attempt: answered(407),
    expected: { kind: 'proxyRefused', endpoint: ENTRA },
  },
  {
    what: 'the OIDC endpoint refused the System.AccessToken',
    error: Object.assign(new Error('AzurePipelinesCredential: Authentication Failed'), { statusCode: 401 }),
    attempt: { kind: 'answered', endpoint: OIDC, status: 401, description: 'TF400813: not authorized' },
    oidc: OIDC,
    expected: { kind: 'oidc', endpoint: OIDC, status: 401, detail: 'TF400813: not authorized' },
  },
  {
    what: 'the OIDC endpoint failed (500 after retries)',
    error: Object.assign(new Error('x'), { statusCode: 500 }),
    attempt: { kind: 'answered', endpoint: OIDC, status: 500 },
    oidc: OIDC,
    expected: { kind: 'oidc', endpoint: OIDC, status: 500, detail: '' },
  },
  {
    what: 'Entra ID kept answering 503',
    error: new Error('temporarily_unavailable'),
    attempt: answered(503, 'temporarily_unavailable'),
    expected: { kind: 'outage' },
  },
  {
    what: 'Entra ID refuses the client secret (invalid_client, AADSTS7000215)',
    error: new Error('AADSTS7000215: Invalid client secret provided.'),
    attempt: answered(401, 'invalid_client', 'AADSTS7000215: Invalid client secret provided.'),
    expected: { kind: 'identity' },
  },
  {
    what: 'Entra ID does not know the application (unauthorized_client, AADSTS700016)',
    error: new Error('x'),
    attempt: answered(400, 'unauthorized_client', 'AADSTS700016: application not found'),
    expected: { kind: 'identity' },
  },
  {
    what: 'an AADSTS identity error seen only in the library text (no federated credential matches)',
    error: new Error('AADSTS70021: No matching federated identity record found for presented assertion.'),
    attempt: undefined,
    expected: { kind: 'identity' },
  },
  {
    what: 'a managed identity the host does not have (invalid_request from the endpoint)',
    error: new Error('Identity not found'),
    attempt: answered(400, 'invalid_request', 'Identity not found'),
    expected: { kind: 'identity' },
  },
  {
    what: 'Entra ID does not know the resource (AADSTS500011, invalid_resource)',
    error: new Error(
      'AADSTS500011: The resource principal named https://containerregistry.azure.net was not found',
    ),
    attempt: answered(400, 'invalid_resource', 'AADSTS500011: not found'),
    expected: { kind: 'audience' },
  },
  {
    what: 'something the task cannot place',
    error: new Error('something odd'),
    attempt: undefined,
    expected: { kind: 'other' },
  },
];

describe('classifyTokenFailure', () => {
  for (const row of ROWS) {
    it(`${row.what}: ${row.expected.kind}`, () => {
      assert.deepEqual(classifyTokenFailure(row.error, row.attempt, row.oidc), row.expected);
    });
  }
});
