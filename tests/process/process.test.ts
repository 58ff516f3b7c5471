import * as assert from 'node:assert/strict';
import {
  captureProcess,
  describeEnd,
  startProcess,
  succeeded,
} from '../../tasks/BuildKitBuild/src/process/process';

const node = process.execPath;
const env = { PATH: process.env.PATH };
const script = (code: string) => ({ file: node, args: ['-e', code], env });

describe('the child process seam (src/process/process.ts)', () => {
  it('captures stdout then stderr as lines, with the exit code', async () => {
    const { result, output } = await captureProcess(
      script("console.log('out 1'); console.error('err 1'); console.log('out 2'); process.exit(3)"),
    );
    assert.equal(result.code, 3);
    assert.equal(succeeded(result), false);
    assert.equal(describeEnd(result), 'exit code 3');
    assert.equal(output, 'out 1\nout 2\nerr 1');
  });

  it('gives the child exactly the environment it is handed, unset names dropped', async () => {
    const { output } = await captureProcess({
      file: node,
      args: ['-e', 'console.log(JSON.stringify([process.env.ONE, process.env.TWO, process.env.HOME]))'],
      env: { ONE: '1', TWO: undefined },
    });
    assert.deepEqual(JSON.parse(output), ['1', null, null]);
  });

  it('kills a child that outlives its timeout and says so', async () => {
    const { result } = await captureProcess({ ...script('setInterval(() => {}, 1000)'), timeoutMs: 200 });
    assert.equal(result.timedOut, true);
    assert.equal(result.signal, 'SIGKILL');
    assert.equal(describeEnd(result, 200), 'no answer within 0.2 s');
  });

  it('forwards cancellation as the agent signal and reports it cancelled', async () => {
    const controller = new AbortController();
    const started = captureProcess({
      ...script("console.log('ready'); setInterval(() => {}, 1000)"),
      signal: controller.signal,
    });
    controller.abort('SIGINT');
    const { result } = await started;
    assert.equal(result.cancelled, true);
    assert.equal(result.signal, 'SIGINT');
    assert.equal(succeeded(result), false);
  });

  it('rejects only when the program cannot start', async () => {
    await assert.rejects(
      captureProcess({ file: '/nonexistent/buildctl', args: [], env }),
      (error: NodeJS.ErrnoException) => error.code === 'ENOENT',
    );
    const end = await startProcess({ file: '/nonexistent/buildctl', args: [], env }).ended;
    assert.equal(end.error?.message.includes('ENOENT'), true);
  });

  it('settles after the exit when asked, although a descendant still holds the output pipes', async () => {
    const lines: string[] = [];
    const child = startProcess({
      file: '/bin/sh',
      args: ['-c', 'echo started; sleep 2 & exit 4'],
      env,
      onLines: (received) => lines.push(...received),
      settleAfterExitMs: 50,
    });
    const end = await child.ended;
    assert.equal(end.code, 4);
    assert.equal(end.error, undefined);
    assert.deepEqual(lines, ['started']);
  });
});
