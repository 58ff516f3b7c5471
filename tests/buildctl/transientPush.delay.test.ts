import * as assert from 'node:assert/strict';
import {
  DEFAULT_PUSH_RETRY_DELAY_SECONDS,
  MAX_PUSH_RETRY_DELAY_SECONDS,
  pushRetryDelayMs,
  retryDelayMs,
} from '../../tasks/BuildKitBuild/src/buildctl/transientPush';
import { makeContext } from '../support/fakeContext';

/** setTimeout's largest delay: a longer one fires at once (Node's TimeoutOverflowWarning). */
const TIMER_MAX_MS = 2 ** 31 - 1;

describe('the push retry delay variable', () => {
  it('never asks for a wait a timer cannot hold, whatever the first delay', () => {
    for (const first of [1e9 * 1000, Number.MAX_SAFE_INTEGER, 1e300]) {
      for (const next of [2, 3]) {
        const ms = retryDelayMs(next, first);
        assert.ok(Number.isFinite(ms) && ms > 0 && ms <= TIMER_MAX_MS, `${next}: ${ms}`);
      }
    }
  });

  it('reads a huge value as the longest first delay, with a warning naming the variable', () => {
    for (const raw of ['1e9', '86400', String(MAX_PUSH_RETRY_DELAY_SECONDS + 1)]) {
      const ctx = makeContext({ variables: { 'BuildKitBuild.PushRetryDelaySeconds': raw } });
      assert.equal(pushRetryDelayMs(ctx), MAX_PUSH_RETRY_DELAY_SECONDS * 1000, raw);
      const warnings = ctx.recorded.warnings;
      assert.equal(warnings.length, 1, raw);
      assert.match(warnings[0] ?? '', new RegExp(`BuildKitBuild\\.PushRetryDelaySeconds is '${raw}'`));
    }
  });

  it('keeps a valid value and warns once for a negative or non-number one', () => {
    const read = (raw: string) => {
      const ctx = makeContext({ variables: { 'BuildKitBuild.PushRetryDelaySeconds': raw } });
      return { ms: pushRetryDelayMs(ctx), warnings: ctx.recorded.warnings.length };
    };
    assert.deepEqual(read('2.5'), { ms: 2500, warnings: 0 });
    assert.deepEqual(read('-5'), { ms: DEFAULT_PUSH_RETRY_DELAY_SECONDS * 1000, warnings: 1 });
    assert.deepEqual(read('soon'), {
      ms: DEFAULT_PUSH_RETRY_DELAY_SECONDS * 1000,
      warnings: 1,
    });
    assert.deepEqual(read('Infinity'), {
      ms: DEFAULT_PUSH_RETRY_DELAY_SECONDS * 1000,
      warnings: 1,
    });
  });
});
