import * as assert from 'node:assert/strict';
import { secondsVariable } from '../../tasks/BuildKitBuild/src/core/secondsVariable';
import { makeContext } from '../support/fakeContext';

describe('tuning variables in seconds', () => {
  const NAME = 'BuildKitBuild.PreflightTimeoutSeconds';
  const read = (value: string | undefined) => {
    const ctx = makeContext({ variables: value === undefined ? {} : { [NAME]: value } });
    return { seconds: secondsVariable(ctx, NAME, 20), warnings: ctx.recorded.warnings };
  };

  it('takes the default, silently, when unset or empty', () => {
    assert.deepEqual(read(undefined), { seconds: 20, warnings: [] });
    assert.deepEqual(read(' '), { seconds: 20, warnings: [] });
  });

  it('takes a positive number of seconds, fractions too', () => {
    assert.deepEqual(read('90'), { seconds: 90, warnings: [] });
    assert.deepEqual(read('1.5'), { seconds: 1.5, warnings: [] });
  });

  for (const bad of ['30s', '0', '-5', 'soon']) {
    it(`warns about '${bad}', naming the variable, and takes the default`, () => {
      const { seconds, warnings } = read(bad);
      assert.equal(seconds, 20);
      assert.deepEqual(warnings, [
        `The pipeline variable ${NAME} is '${bad}', not a positive number of seconds; using 20.`,
      ]);
    });
  }
});
