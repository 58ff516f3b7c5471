import * as assert from 'node:assert/strict';
import { CancelledError } from '../../tasks/BuildKitBuild/src/core/cancellation';
import {
  checkRegistryPermissions,
  type TokenRequester,
} from '../../tasks/BuildKitBuild/src/permission/check';
import { publicCloud } from '../../tasks/BuildKitBuild/src/registry/clouds';
import type { RegistrySpec } from '../../tasks/BuildKitBuild/src/registry/spec';
import { buildInputsFor, writeBuildContext } from '../support/buildInputs';
import { makeContext } from '../support/fakeContext';
import { tempDir } from '../support/fakeDaemon';

const HOST = 'myacr.azurecr.io';
const registry: RegistrySpec = {
  kind: 'azure',
  endpointId: 'ARM',
  cloud: publicCloud(),
  host: HOST,
  configKey: HOST,
};

/** A token service that never answers: the request ends only when its signal is aborted. */
function hanging(seen: AbortSignal[]): TokenRequester {
  return (_request, signal) =>
    new Promise((_resolve, reject) => {
      seen.push(signal);
      signal.addEventListener(
        'abort',
        () => {
          reject(new CancelledError('aborted'));
        },
        { once: true },
      );
    });
}

describe('the permission check against a token service that never answers', () => {
  let dir: string;
  before(() => {
    dir = tempDir();
    writeBuildContext(dir);
  });

  it('is bounded by BuildKitBuild.CredentialTimeoutSeconds: skipped, saying so, and the build goes on', async () => {
    const ctx = makeContext({ variables: { 'BuildKitBuild.CredentialTimeoutSeconds': '0.05' } });
    const seen: AbortSignal[] = [];
    await checkRegistryPermissions(
      registry,
      buildInputsFor(dir, {}, HOST),
      [{ host: HOST, configKey: HOST, entry: { identitytoken: 'rt' } }],
      ctx,
      new AbortController().signal,
      hanging(seen),
    );
    assert.equal(seen.length, 1);
    assert.ok(seen[0]?.aborted, 'the request was stopped');
    assert.ok(
      ctx.recorded.infos.some((l) =>
        l.includes(
          `The rights on ${HOST} were not checked before the build (no answer within 0.05 s; BuildKitBuild.CredentialTimeoutSeconds sets the limit)`,
        ),
      ),
      ctx.recorded.infos.join('\n'),
    );
  });

  it('a cancellation (SIGTERM) while it waits ends the check as cancelled, not as skipped', async () => {
    const ctx = makeContext();
    const seen: AbortSignal[] = [];
    const run = new AbortController();
    const check = checkRegistryPermissions(
      registry,
      buildInputsFor(dir, {}, HOST),
      [{ host: HOST, configKey: HOST, entry: { identitytoken: 'rt' } }],
      ctx,
      run.signal,
      (request, signal) => {
        const answer = hanging(seen)(request, signal);
        run.abort('SIGTERM');
        return answer;
      },
    );
    await assert.rejects(check, CancelledError);
    assert.ok(!ctx.recorded.infos.some((l) => l.includes('were not checked')));
  });
});
