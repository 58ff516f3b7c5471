import * as assert from 'node:assert/strict';
import { splitExtraArgs } from '../../tasks/BuildKitBuild/src/buildInputs/extraArgs';
import {
  csvField,
  csvPairs,
  numberedLines,
  splitCsv,
} from '../../tasks/BuildKitBuild/src/buildInputs/inputText';
import {
  readPipelineMetadata,
  withoutUserInfo,
} from '../../tasks/BuildKitBuild/src/buildInputs/pipelineLabels';
import {
  checkRepositoryPath,
  isValidTag,
  normalizeName,
  parseReference,
} from '../../tasks/BuildKitBuild/src/buildInputs/reference';

describe('reference grammar', () => {
  const paths: [string, ReturnType<typeof checkRepositoryPath>][] = [
    ['app', undefined],
    ['team/app', undefined],
    ['a.b/c_d/e__f/g-h/i--j', undefined],
    ['', 'empty'],
    ['Team/app', 'uppercase'],
    ['team/app:1', 'tagOrDigest'],
    ['team/app@sha256:abc', 'tagOrDigest'],
    ['team//app', 'invalid'],
    ['team/app-', 'invalid'],
    ['team/_app', 'invalid'],
    ['team/a___b', 'invalid'],
    ['team app', 'invalid'],
  ];
  for (const [path, expected] of paths) {
    it(`repository path '${path}' → ${String(expected)}`, () => {
      assert.equal(checkRepositoryPath(path), expected);
    });
  }

  it('tags: 1 to 128 characters, no leading . or -', () => {
    assert.ok(isValidTag('1'));
    assert.ok(isValidTag('_x.Y-z'));
    assert.ok(isValidTag('a'.repeat(128)));
    assert.ok(!isValidTag('a'.repeat(129)));
    assert.ok(!isValidTag('.x'));
    assert.ok(!isValidTag('-x'));
    assert.ok(!isValidTag('a/b'));
    assert.ok(!isValidTag(''));
  });

  it('normalises names without a registry to Docker Hub', () => {
    assert.equal(normalizeName('app'), 'docker.io/library/app');
    assert.equal(normalizeName('org/app'), 'docker.io/org/app');
    assert.equal(normalizeName('localhost/app'), 'localhost/app');
    assert.equal(normalizeName('host:5000/app'), 'host:5000/app');
  });

  it('parses references with tags and digests, and names what is wrong', () => {
    const digest = 'sha256:' + 'c'.repeat(64);
    assert.deepEqual(parseReference('host:5000/a/b:1'), {
      name: 'host:5000/a/b',
      tag: '1',
      digest: undefined,
    });
    assert.deepEqual(parseReference(`a@${digest}`), { name: 'a', tag: undefined, digest });
    assert.equal(parseReference('a:bad tag'), 'tag');
    assert.equal(parseReference('a@sha256:short'), 'digest');
    assert.equal(parseReference('bad_host.com:x/a'), 'domain');
    assert.equal(parseReference('A/b'), 'uppercase');
  });
});

describe('input text helpers', () => {
  it('numbers lines from 1 and skips empty ones', () => {
    assert.deepEqual(numberedLines('\n a \r\n\r\nb'), [
      { line: 2, text: 'a' },
      { line: 4, text: 'b' },
    ]);
  });

  it('splits CSV with quotes and doubled quotes; an open quote is undefined', () => {
    assert.deepEqual(splitCsv('type=image,"name=a:1,a:2",push=true'), [
      'type=image',
      'name=a:1,a:2',
      'push=true',
    ]);
    assert.deepEqual(splitCsv('"a""b",c'), ['a"b', 'c']);
    assert.equal(splitCsv('"open'), undefined);
    assert.deepEqual(csvPairs('Type=local, dest=/x'), [
      { key: 'type', value: 'local' },
      { key: 'dest', value: '/x' },
    ]);
    assert.equal(csvPairs('type=local,novalue'), undefined);
  });

  it('quotes a CSV field only when it must', () => {
    assert.equal(csvField('name=a:1'), 'name=a:1');
    assert.equal(csvField('name=a:1,a:2'), '"name=a:1,a:2"');
    assert.equal(csvField('say "hi"'), '"say ""hi"""');
  });

  it('splits extraArgs like a shell without running one', () => {
    assert.deepEqual(splitExtraArgs('  '), []);
    assert.deepEqual(splitExtraArgs(`a "b c" 'd e' f\\ g`), ['a', 'b c', 'd e', 'f g']);
    assert.equal(splitExtraArgs('a "b'), 'openQuote');
    assert.equal(splitExtraArgs("a 'b"), 'openQuote');
    assert.equal(splitExtraArgs('--opt build-arg:Z=\\'), 'trailingBackslash');
    assert.equal(splitExtraArgs('"a\\'), 'openQuote');
    assert.deepEqual(splitExtraArgs('a\\\\'), ['a\\']);
  });
});

describe('pipeline metadata', () => {
  it('removes credentials from the repository URL', () => {
    assert.equal(withoutUserInfo('https://user:pw@host/x'), 'https://host/x');
    assert.equal(withoutUserInfo('https://host/x'), 'https://host/x');
    assert.equal(withoutUserInfo('git@github.com:org/app.git'), 'git@github.com:org/app.git');
  });

  it('builds the results URL from the collection, project and build id', () => {
    const variables: Record<string, string> = {
      'System.TeamFoundationCollectionUri': 'https://tfs.example.com/tfs/Default',
      'System.TeamProject': 'My Project',
      'Build.BuildId': '9',
    };
    const metadata = readPipelineMetadata((n) => variables[n]);
    assert.equal(
      metadata.kind === 'build' ? metadata.buildUrl : 'not a build',
      'https://tfs.example.com/tfs/Default/My%20Project/_build/results?buildId=9',
    );
  });
});
