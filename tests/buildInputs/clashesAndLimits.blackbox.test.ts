import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runTask } from '../support/agent';
import { bundledTaskEntry } from '../support/repo';
import { assertNoLeaks, assertNoStackTrace, freshHome } from '../support/leaks';
import { dockerRegistryConnection } from '../support/connections';

/**
 * Inputs that would lose an image or fail only when the operating system refuses to start buildctl: each
 * fails before anything runs, credentials included, naming every input involved.
 */

const PASSWORD = 'registry-password-Ww71Xq';

interface Case {
  what: string;
  inputs: Record<string, string>;
  /** Every input the failure message must name. */
  names: string[];
  /** A fragment of the message. */
  says: RegExp;
}

const manyTags = Array.from({ length: 10_000 }, (_, i) => `v${i}`).join('\n');

const CASES: Case[] = [
  {
    what: 'a tag equal to the default cache tag (buildcache)',
    inputs: { tags: '7\nbuildcache' },
    names: ['cacheRef', 'tags'],
    says: /r\.example\/team\/app:buildcache is also an image tag in tags[^]*would overwrite the image/,
  },
  {
    what: 'cacheRef naming one of the image refs (without its registry)',
    inputs: { tags: '7\nlatest', cacheRef: 'team/app:latest' },
    names: ['cacheRef', 'tags'],
    says: /r\.example\/team\/app:latest is both the cache reference and an image tag in tags/,
  },
  {
    what: 'cacheRef naming an image ref with the tag left implicit (latest)',
    inputs: { tags: 'latest', cacheRef: 'r.example/team/app' },
    names: ['cacheRef', 'tags'],
    says: /is both the cache reference and an image tag/,
  },
  {
    what: 'a cacheTo registry export to one of the image refs',
    inputs: { tags: '7', cacheTo: 'type=registry,ref=r.example/team/app:7,mode=max' },
    names: ['cacheTo', 'tags'],
    says: /would overwrite the image tag r\.example\/team\/app:7 in tags/,
  },
  {
    what: '10,000 tags: one buildctl argument longer than the system allows',
    inputs: { tags: manyTags },
    names: ['tags'],
    says: /longer than the 131071 bytes Linux allows for one argument/,
  },
  {
    what: 'extraArgs ending in a backslash that escapes nothing',
    inputs: { extraArgs: '--opt build-arg:Z=\\' },
    names: ['extraArgs'],
    says: /ends with a backslash, which escapes nothing/,
  },
];

describe('bad inputs about outputs: named up front, before credentials or buildctl', function () {
  this.timeout(120_000);
  let workspace: string;
  let sentinelDir: string;

  before(() => {
    workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'bkb-out-bad-ws-'));
    fs.writeFileSync(path.join(workspace, 'Dockerfile'), 'FROM scratch\n');
    // A buildctl that only notes that something started it: none of these runs may get that far.
    sentinelDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bkb-out-bad-bin-'));
    fs.writeFileSync(
      path.join(sentinelDir, 'buildctl'),
      '#!/bin/sh\ntouch "$(dirname "$0")/started"\nexit 1\n',
      {
        mode: 0o755,
      },
    );
  });

  after(() => {
    for (const dir of [workspace, sentinelDir]) fs.rmSync(dir, { recursive: true, force: true });
  });

  for (const testCase of CASES) {
    it(testCase.what, async function () {
      // The limits differ by system (macOS and Windows count the whole command line).
      if (process.platform !== 'linux' && testCase.says.source.includes('Linux')) this.skip();
      const home = freshHome();
      const run = await runTask({
        entry: await bundledTaskEntry(),
        inputs: {
          containerRegistry: 'reg',
          repository: 'team/app',
          buildkitAddress: 'tcp://127.0.0.1:9',
          ...testCase.inputs,
        },
        endpoints: { reg: dockerRegistryConnection('https://r.example', 'builder', PASSWORD) },
        cwd: workspace,
        pathPrepend: [sentinelDir],
        env: { HOME: home },
      });
      try {
        assert.equal(run.result, 'Failed', run.stdout.slice(-2000));
        const message = run.resultMessage ?? '';
        assert.match(message, /nothing was run/);
        assert.match(message, testCase.says);
        for (const name of testCase.names)
          assert.match(message, new RegExp(`\\b${name}\\b`), `names ${name}`);
        assert.ok(!fs.existsSync(path.join(sentinelDir, 'started')), 'buildctl must not start');
        // The connection's password is registered when credentials are fetched: it never was.
        assert.ok(
          !run.commands.some((c) => c.name === 'task.setsecret' && c.message === PASSWORD),
          'no credentials were fetched',
        );
        assertNoStackTrace(run);
        assertNoLeaks(run, [PASSWORD], home);
      } finally {
        fs.rmSync(run.tempDirectory, { recursive: true, force: true });
        fs.rmSync(home, { recursive: true, force: true });
      }
    });
  }
});
