import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { downloadWithRetries, type DownloadDeps } from '../../tasks/BuildKitBuild/src/tool/download';
import { redactQueryIn } from '../../tasks/BuildKitBuild/src/tool/urlText';
import { makeContext } from '../support/fakeContext';

const SIGNATURE = 'Zq8yT3xV1k4s%2Fn0tR3al%2BSig%3D';
const PATH = `/bk/v0.32.2/buildkit-v0.32.2.linux-amd64.tar.gz?sv=2022-11-02&sp=r&sig=${SIGNATURE}`;
const URL_ = `https://mirror.example${PATH}`;

describe('tool: a SAS token in the text of a download error', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bkb-dl-sas-'));
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('is redacted in the retry lines and the failure message (typed-rest-client names the path and query)', async () => {
    const ctx = makeContext();
    const deps: DownloadDeps = {
      // What typed-rest-client's HttpClient rejects with when the socket stays idle for its timeout.
      fetch: () => Promise.reject(new Error(`Request timeout: ${PATH}`)),
      sleep: () => Promise.resolve(),
    };
    const policy = { attempts: 2, firstDelayMs: 1, maxDelayMs: 1 };
    const failure = await downloadWithRetries(
      URL_,
      (attempt) => path.join(dir, `a-${attempt}`),
      policy,
      deps,
      ctx,
      new AbortController().signal,
    ).then(
      () => assert.fail('the download cannot succeed'),
      (error: unknown) => (error instanceof Error ? error.message : String(error)),
    );
    const shown = [...ctx.recorded.lines, failure].join('\n');
    assert.ok(shown.includes('Request timeout: /bk/v0.32.2/'), shown);
    assert.ok(shown.includes('?sv=***&sp=***&sig=***'), shown);
    assert.ok(!shown.includes('Zq8yT3xV1k4s'), shown);
  });

  it('redactQueryIn replaces the query wherever the text holds it, also percent-decoded', () => {
    assert.equal(
      redactQueryIn(`a ${PATH} b ${decodeURIComponent(PATH)}`, URL_),
      'a /bk/v0.32.2/buildkit-v0.32.2.linux-amd64.tar.gz?sv=***&sp=***&sig=*** ' +
        'b /bk/v0.32.2/buildkit-v0.32.2.linux-amd64.tar.gz?sv=***&sp=***&sig=***',
    );
    assert.equal(redactQueryIn('no query here', 'https://mirror.example/bk'), 'no query here');
  });
});
