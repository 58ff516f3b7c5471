import * as assert from 'node:assert/strict';
import type { InputProblem } from '../../tasks/BuildKitBuild/src/core/inputErrors';
import { readInputs, type InputName } from '../../tasks/BuildKitBuild/src/core/inputs';
import { parseTool } from '../../tasks/BuildKitBuild/src/tool/spec';
import { makeContext } from '../support/fakeContext';

/**
 * The credential parts of a mirror URL's query are registered as secrets as soon as the input is read, so
 * that any text that quotes the URL (a library's error, a redirect, NODE_DEBUG output) is masked, not only
 * the lines the installer redacts itself.
 */
describe('tool: a mirror URL with a signed query', () => {
  const secretsOf = (inputs: Partial<Record<InputName, string>>) => {
    const ctx = makeContext();
    const problems: InputProblem[] = [];
    parseTool(
      readInputs((name) => inputs[name]),
      ctx,
      problems,
    );
    return ctx.recorded.secrets;
  };

  it('registers an Azure SAS signature (as sent and decoded) and the whole query', () => {
    const query =
      'sv=2022-11-02&ss=b&srt=co&sp=rl&se=2027-01-01T00%3A00%3A00Z&sig=Zq8yT3xV1k4s%2Fn0tR3al%2BSig%3D';
    const secrets = secretsOf({ buildkitDownloadUrl: `https://acct.blob.core.windows.net/bk?${query}` });
    for (const expected of [query, 'Zq8yT3xV1k4s%2Fn0tR3al%2BSig%3D', 'Zq8yT3xV1k4s/n0tR3al+Sig=']) {
      assert.ok(secrets.includes(expected), `${expected} registered`);
    }
    for (const plain of ['2022-11-02', 'b', 'co', 'rl'])
      assert.ok(!secrets.includes(plain), `${plain} left alone`);
  });

  it('registers the signature and credential of an S3 or GCS signed URL, and the token of a plain ?token=', () => {
    const secrets = secretsOf({
      buildkitDownloadUrl:
        'https://b.s3.amazonaws.com/bk?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAEXAMPLE%2F20270101&X-Amz-Security-Token=FQoGZXIvYXdzEXAMPLE&X-Amz-Signature=abcdef0123456789&token=t0k3n-value-123',
    });
    for (const expected of [
      'AKIAEXAMPLE%2F20270101',
      'FQoGZXIvYXdzEXAMPLE',
      'abcdef0123456789',
      't0k3n-value-123',
    ]) {
      assert.ok(secrets.includes(expected), `${expected} registered`);
    }
    assert.ok(!secrets.includes('AWS4-HMAC-SHA256'));
  });

  it('registers nothing for a URL without a query', () => {
    assert.deepEqual(secretsOf({ buildkitDownloadUrl: 'https://mirror.example/bk' }), []);
  });
});
