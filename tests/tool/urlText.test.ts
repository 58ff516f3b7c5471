import * as assert from 'node:assert/strict';
import { releaseArchiveUrl, releasePlatform } from '../../tasks/BuildKitBuild/src/tool/platform';
import { appendPath, redactUrl, trimPathSlashes } from '../../tasks/BuildKitBuild/src/tool/urlText';

const SAS = 'sv=2022-11-02&ss=b&srt=co&sp=rl&se=2027-01-01T00:00:00Z&sig=Zq8yT3xV1%2Bk4s%2Fabc%3D';

describe('tool: mirror URLs with a query (SAS tokens)', () => {
  it('puts the release path before the query', () => {
    const linux = releasePlatform('linux', 'x64');
    assert.ok(linux);
    assert.equal(
      releaseArchiveUrl(`https://acct.blob.core.windows.net/buildkit/?${SAS}`, '0.32.2', linux),
      `https://acct.blob.core.windows.net/buildkit/v0.32.2/buildkit-v0.32.2.linux-amd64.tar.gz?${SAS}`,
    );
  });

  for (const [base, expected] of [
    ['https://m.example/bk', 'https://m.example/bk/v1/a.tgz'],
    ['https://m.example/bk//', 'https://m.example/bk/v1/a.tgz'],
    ['https://m.example/bk?x=1', 'https://m.example/bk/v1/a.tgz?x=1'],
    ['https://m.example/bk/?x=1#frag', 'https://m.example/bk/v1/a.tgz?x=1#frag'],
    ['https://m.example?x=/y/', 'https://m.example/v1/a.tgz?x=/y/'],
  ] as const) {
    it(`appends a path to ${base}`, () => {
      assert.equal(appendPath(base, 'v1/a.tgz'), expected);
    });
  }

  it('trims trailing slashes of the path only, never of the query', () => {
    assert.equal(trimPathSlashes('https://m.example/bk//?p=a/'), 'https://m.example/bk?p=a/');
    assert.equal(trimPathSlashes('https://m.example/bk/'), 'https://m.example/bk');
  });

  for (const [url, expected] of [
    [
      `https://a.blob.core.windows.net/c/x.tgz?${SAS}`,
      'https://a.blob.core.windows.net/c/x.tgz?sv=***&ss=***&srt=***&sp=***&se=***&sig=***',
    ],
    ['https://m.example/x?token', 'https://m.example/x?***'],
    ['https://m.example/x?a=&b=1#secret', 'https://m.example/x?a=***&b=***'],
    ['https://m.example/x#frag', 'https://m.example/x'],
    ['https://m.example/x', 'https://m.example/x'],
    ['ftp://m.example/x?sig=abc', 'ftp://m.example/x?sig=***'],
  ] as const) {
    it(`redacts ${url}`, () => {
      assert.equal(redactUrl(url), expected);
    });
  }
});
