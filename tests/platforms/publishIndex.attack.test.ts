import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { maskSecrets } from '../../tasks/BuildKitBuild/src/core/agentText';
import { publishIndex } from '../../tasks/BuildKitBuild/src/platforms/publishIndex';
import { makeContext } from '../support/fakeContext';
import { startLoopback, type LoopbackServer } from '../support/servers/loopback';
import { createTestPki, type TestPki } from '../support/servers/pki';

describe("publishIndex under attack: credentials from the user's own docker config", () => {
  let pki: TestPki;
  let server: LoopbackServer | undefined;
  let configDir: string;
  before(() => {
    pki = createTestPki();
  });
  after(() => {
    pki.remove();
  });
  beforeEach(() => {
    configDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bkb-docker-config-'));
  });
  afterEach(async () => {
    await server?.close();
    server = undefined;
    fs.rmSync(configDir, { recursive: true, force: true });
  });

  it('are masked before they are sent, so a token service that quotes them back shows ***', async () => {
    const password = 'u5er-0wn-pa55';
    const basic = Buffer.from(`me:${password}`).toString('base64');
    let origin = '';
    server = await startLoopback(pki, (request) => {
      if (request.path.startsWith('/v2/')) {
        return {
          status: 401,
          body: { errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] },
          headers: { 'WWW-Authenticate': `Bearer realm="${origin}/token",service="reg"` },
        };
      }
      // A token service that quotes what it was sent in its refusal.
      const sent = request.headers.authorization ?? '';
      const decoded = Buffer.from(sent.replace(/^Basic /, ''), 'base64').toString('utf8');
      return {
        status: 401,
        body: { errors: [{ code: 'UNAUTHORIZED', message: `refused ${sent} (${decoded})` }] },
      };
    });
    origin = server.origin;
    fs.writeFileSync(
      path.join(configDir, 'config.json'),
      JSON.stringify({ auths: { [server.host]: { auth: basic } } }),
    );
    const ctx = makeContext({ env: { DOCKER_CONFIG: configDir } });
    const error = await publishIndex(
      {
        imageName: `${server.host}/team/app`,
        tags: ['7'],
        roots: [{ platform: 'linux/amd64', digest: `sha256:${'a'.repeat(64)}` }],
        dockerConfigDir: undefined,
        clientOptions: {
          tlsCa: fs.readFileSync(pki.caFile, 'utf8'),
          retry: { maxRetries: 0, baseDelayMs: 1, maxDelayMs: 1, maxRetryAfterMs: 1 },
        },
      },
      ctx,
      new AbortController().signal,
    ).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(error instanceof Error);
    assert.ok(error.message.includes(basic), 'the token service quoted the credentials');
    const shown = maskSecrets(error.message, ctx.log.registeredSecrets());
    assert.equal(shown.includes(basic), false, shown);
    assert.equal(shown.includes(password), false, shown);
  });
});
