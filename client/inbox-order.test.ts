import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { message } from '../test/fixtures.ts';
import { InboxOrder } from './inbox-order.ts';

const seqs = (ms: { seq: number }[]) => ms.map((m) => m.seq);

describe('InboxOrder', () => {
  it('shows live messages in order once a sync has placed the cursor', () => {
    const order = new InboxOrder();
    assert.deepEqual(
      order.synced([message(1)], 1, false).map((m) => m.seq),
      [1],
    );
    assert.deepEqual(seqs(order.delivered([message(2), message(3)]).ready), [2, 3]);
  });

  it('holds live messages behind a gap and asks for a sync, which fills it', () => {
    const order = new InboxOrder(1, true);
    const live = order.delivered([message(3)]);
    assert.deepEqual(live, { ready: [], needSync: true });
    assert.deepEqual(seqs(order.synced([message(2), message(3)], 3, false)), [2, 3]);
    assert.equal(order.hasWaiting, false);
  });

  it('accepts a real gap in seqs once a sync proves it', () => {
    const order = new InboxOrder(1, true);
    order.delivered([message(5)]);
    assert.deepEqual(seqs(order.synced([message(5)], 5, false)), [5]);
  });

  it('never shows a message twice, from sync or live, in any order', () => {
    const order = new InboxOrder();
    const shown = [
      ...order.delivered([message(1)]).ready,
      ...order.synced([message(1), message(2)], 2, false),
      ...order.delivered([message(2), message(1), message(3)]).ready,
      ...order.synced([message(3)], 3, false),
    ];
    assert.deepEqual(seqs(shown), [1, 2, 3]);
  });

  it('resumes from a saved seq without showing older messages again', () => {
    const order = new InboxOrder(10, true);
    assert.deepEqual(order.delivered([message(9), message(10)]).ready, []);
    assert.deepEqual(seqs(order.delivered([message(11)]).ready), [11]);
  });
});
