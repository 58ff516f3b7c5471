import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readInputs, type InputName } from '../../tasks/BuildKitBuild/src/core/inputs';
import type { InputProblem } from '../../tasks/BuildKitBuild/src/core/inputErrors';
import { parseTool, UPSTREAM_DOWNLOAD_URL } from '../../tasks/BuildKitBuild/src/tool/spec';
import {
  DEFAULT_BUILDKIT_VERSION,
  parseBuildctlVersionOutput,
  parseRequestedVersion,
} from '../../tasks/BuildKitBuild/src/tool/version';
import { makeContext } from '../support/fakeContext';
import { repoRoot } from '../support/repo';

const HEX = 'ab'.repeat(32);

describe('tool: version parsing', () => {
  const table: [string, { version: string; sha256: string | undefined } | undefined][] = [
    ['0.32.2', { version: '0.32.2', sha256: undefined }],
    ['v0.32.2', { version: '0.32.2', sha256: undefined }],
    ['0.33.0-rc1', { version: '0.33.0-rc1', sha256: undefined }],
    ['v0.33.0-rc.1', { version: '0.33.0-rc.1', sha256: undefined }],
    [`0.32.2@sha256:${HEX}`, { version: '0.32.2', sha256: HEX }],
    [`v0.32.2@sha256:${HEX.toUpperCase()}`, { version: '0.32.2', sha256: HEX }],
    ['latest', undefined],
    ['0.32', undefined],
    ['0.32.x', undefined],
    ['vv0.32.2', undefined],
    ['0.32.2 ', undefined],
    ['0.32.2@', undefined],
    ['0.32.2@sha256:abc', undefined],
    [`0.32.2@sha512:${HEX}`, undefined],
    [`0.32.2@sha256:${HEX}00`, undefined],
    [`@sha256:${HEX}`, undefined],
    ['', undefined],
  ];
  for (const [text, expected] of table) {
    it(`parses ${JSON.stringify(text)}`, () => {
      assert.deepEqual(parseRequestedVersion(text), expected);
    });
  }

  it('keeps the default release as a parseable version, the one the README promises', () => {
    assert.equal(parseRequestedVersion(DEFAULT_BUILDKIT_VERSION)?.version, DEFAULT_BUILDKIT_VERSION);
    const readme = fs.readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
    assert.ok(readme.includes(`installs BuildKit v${DEFAULT_BUILDKIT_VERSION}`), 'README names the default');
  });

  const outputs: [string, string | undefined][] = [
    ['buildctl github.com/moby/buildkit v0.32.2 3e2e5c0b8d09a8a1e4e3bd0b7b0a2d5a5c0f3b6a', '0.32.2'],
    ['buildctl github.com/moby/buildkit v0.33.0-rc1 abc\n', '0.33.0-rc1'],
    ['buildctl github.com/moby/buildkit 0.12.5 abc', '0.12.5'],
    ['Incorrect Usage: flag provided but not defined: -version', undefined],
    ['', undefined],
  ];
  for (const [output, expected] of outputs) {
    it(`reads the version of buildctl --version output ${JSON.stringify(output.slice(0, 40))}`, () => {
      assert.equal(parseBuildctlVersionOutput(output), expected);
    });
  }
});

describe('tool: parseTool', () => {
  const parse = (inputs: Partial<Record<InputName, string>>) => {
    const ctx = makeContext();
    const problems: InputProblem[] = [];
    const spec = parseTool(
      readInputs((name) => inputs[name]),
      ctx,
      problems,
    );
    return { spec, problems };
  };

  it('leaves the version open and uses the upstream URL when both inputs are empty', () => {
    const { spec, problems } = parse({});
    assert.deepEqual(problems, []);
    assert.deepEqual(spec, { version: undefined, sha256: undefined, downloadUrl: UPSTREAM_DOWNLOAD_URL });
  });

  it('reads a pinned version and a mirror URL (trailing slash dropped)', () => {
    const { spec, problems } = parse({
      buildctlVersion: ` v0.32.2@sha256:${HEX} `,
      buildkitDownloadUrl: 'https://mirror.example/buildkit/',
    });
    assert.deepEqual(problems, []);
    assert.deepEqual(spec, {
      version: '0.32.2',
      sha256: HEX,
      downloadUrl: 'https://mirror.example/buildkit',
    });
  });

  it('reports a version that is not one, naming the input and the value', () => {
    const { problems } = parse({ buildctlVersion: 'latest' });
    assert.deepEqual(
      problems.map((p) => [p.input, p.message]),
      [
        [
          'buildctlVersion',
          "'latest' is not a BuildKit version: use 0.32.2, v0.32.2 or 0.32.2@sha256:<64 hex digits>, or leave it empty to use buildctl from PATH",
        ],
      ],
    );
  });

  for (const url of [
    'ftp://mirror.example/buildkit',
    'mirror.example/buildkit',
    'file:///srv/buildkit',
    'http://',
  ]) {
    it(`reports ${url} as buildkitDownloadUrl (not an http(s) URL)`, () => {
      const { problems } = parse({ buildkitDownloadUrl: url });
      assert.deepEqual(
        problems.map((p) => p.input),
        ['buildkitDownloadUrl'],
      );
      assert.match(problems[0]?.message ?? '', /is not an http\(s\) URL/);
    });
  }

  it('refuses a URL with a user name or password, without repeating the password', () => {
    const { problems } = parse({ buildkitDownloadUrl: 'https://bot:mirror-pass-81@mirror.example/bk/' });
    assert.deepEqual(
      problems.map((p) => p.input),
      ['buildkitDownloadUrl'],
    );
    assert.match(
      problems[0]?.message ?? '',
      /^https:\/\/mirror\.example\/bk\/ must not carry a user name or password/,
    );
    assert.doesNotMatch(problems[0]?.message ?? '', /mirror-pass-81|bot/);
  });

  it('reports both inputs at once', () => {
    const { problems } = parse({ buildctlVersion: '1', buildkitDownloadUrl: 'nope' });
    assert.deepEqual(problems.map((p) => p.input).sort(), ['buildctlVersion', 'buildkitDownloadUrl']);
  });
});
