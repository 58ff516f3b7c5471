import * as assert from 'node:assert/strict';
import { rendezvousOrder } from '../../tasks/BuildKitBuild/src/daemon/rendezvous';

const daemons = ['tcp://a:1234', 'tcp://b:1234', 'tcp://c:1234'];

describe('rendezvous ordering of daemons', () => {
  it('is stable: the same repository always gives the same order, whatever the input order', () => {
    const order = rendezvousOrder(daemons, 'team/app');
    assert.deepEqual(rendezvousOrder([...daemons].reverse(), 'team/app'), order);
    assert.deepEqual(rendezvousOrder(daemons, 'team/app'), order);
    assert.deepEqual([...order].sort(), daemons);
  });

  it('spreads repositories over the daemons', () => {
    const firsts = new Map<string, number>();
    for (let i = 0; i < 600; i++) {
      const first = rendezvousOrder(daemons, `team/app-${i}`)[0] ?? '';
      firsts.set(first, (firsts.get(first) ?? 0) + 1);
    }
    assert.equal(firsts.size, 3);
    for (const [daemon, count] of firsts) assert.ok(count > 120 && count < 280, `${daemon}: ${count} of 600`);
  });

  it('removing a daemon leaves the relative order of the others unchanged', () => {
    for (let i = 0; i < 100; i++) {
      const repo = `r${i}`;
      const full = rendezvousOrder(daemons, repo);
      const without = rendezvousOrder(daemons.slice(1), repo);
      assert.deepEqual(
        without,
        full.filter((d) => d !== daemons[0]),
      );
    }
  });

  it('drops duplicates', () => {
    assert.equal(rendezvousOrder(['tcp://a:1', 'tcp://a:1'], 'x').length, 1);
  });
});
