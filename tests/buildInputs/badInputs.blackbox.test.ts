import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runTask } from '../support/agent';
import { bundledTaskEntry } from '../support/repo';
import { assertNoLeaks, assertNoStackTrace, freshHome } from '../support/leaks';
import { BAD_INPUT_ENDPOINTS, BAD_INPUT_SECRETS } from '../support/badInputConnections';

const SECRETS = BAD_INPUT_SECRETS;
const ENDPOINTS = BAD_INPUT_ENDPOINTS;

interface SmokeCase {
  what: string;
  inputs: Record<string, string>;
  /** The failed result's whole message. */
  message: string;
}

/**
 * A few cases of the unit table (tests/spec.test.ts, which covers every input): the bundled task, run as
 * the agent runs it, fails before anything starts, with the whole message the user reads.
 */
const CASES: SmokeCase[] = [
  {
    what: 'several problems at once, from the build and the tool inputs',
    inputs: { repository: 'UPPER', provenance: 'full', buildctlVersion: 'latest' },
    message:
      "The task's inputs have 3 problem(s); nothing was run:\nbuildctlVersion: 'latest' is not a BuildKit version: use 0.32.2, v0.32.2 or 0.32.2@sha256:<64 hex digits>, or leave it empty to use buildctl from PATH\nrepository: 'UPPER' has uppercase letters, and repository names must be lowercase: use upper\nprovenance: 'full' is not one of: none, min, max",
  },
  {
    what: 'a multi-line input names the line',
    inputs: { tags: 'v1\nnot ok' },
    message:
      "The task's inputs have 1 problem(s); nothing was run:\ntags (line 2): 'not ok' is not a valid tag: up to 128 letters, digits, '_', '.' and '-', not starting with '.' or '-'",
  },
  {
    what: 'an Azure connection without a registry',
    inputs: { azureSubscription: 'arm', acr: '' },
    message:
      "The task's inputs have 1 problem(s); nothing was run:\nacr: the Azure Container Registry is required with azureSubscription: its name (myacr) or login server (myacr.azurecr.io)",
  },
  {
    what: 'a download URL with a password in it: refused without repeating the password',
    inputs: { buildkitDownloadUrl: 'https://bot:mirror-password-Zq81@mirror.example/buildkit' },
    message:
      "The task's inputs have 1 problem(s); nothing was run:\nbuildkitDownloadUrl: https://mirror.example/buildkit must not carry a user name or password: the URL is written to the log. Serve the archives without credentials (e.g. an internal mirror readable by the agents).",
  },
];

describe('bad inputs (smoke): the whole failure message, before anything runs', function () {
  this.timeout(120_000);
  let workspace: string;
  let sentinelDir: string;

  before(() => {
    workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'bkb-bad-ws-'));
    fs.writeFileSync(path.join(workspace, 'Dockerfile'), 'FROM scratch\n');
    // A buildctl that only notes that something started it: none of these runs may get that far.
    sentinelDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bkb-bad-bin-'));
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
    it(testCase.what, async () => {
      const inputs = { repository: 'team/app', buildkitAddress: 'tcp://127.0.0.1:9', ...testCase.inputs };
      const home = freshHome();
      const run = await runTask({
        entry: await bundledTaskEntry(),
        inputs,
        endpoints: ENDPOINTS,
        cwd: workspace,
        pathPrepend: [sentinelDir],
        env: { HOME: home },
      });
      try {
        assert.equal(run.result, 'Failed', run.stdout);
        assert.equal(run.resultMessage, testCase.message);
        assert.ok(!fs.existsSync(path.join(sentinelDir, 'started')), 'buildctl must not start');
        assertNoStackTrace(run);
        assertNoLeaks(run, SECRETS, home);
      } finally {
        fs.rmSync(run.tempDirectory, { recursive: true, force: true });
        fs.rmSync(home, { recursive: true, force: true });
      }
    });
  }
});
