import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { check } from './checker.ts';
import type { FaultRecord, History, Observation, SendRecord } from './history.ts';

// Crafted histories: alice/laptop writes to bob (one device, phone) in dm:alice:bob; both views of bob's phone
// (shown by the SDK, read from scratch) and alice's own laptop hold what was acknowledged.
const DM = 'dm:alice:bob';

function send(n: number, startedAtMs: number, ackAtMs?: number): SendRecord {
  return {
    key: `alice/laptop/c${n}`,
    sender: 'alice',
    device: 'laptop',
    conversation: DM,
    startedAtMs,
    ...(ackAtMs === undefined ? {} : { ack: { id: `m${n}`, seq: n, stream: 'inbox', atMs: ackAtMs } }),
  };
}

/** Every device, in both views, has the given sends in this order (seq = n, its inbox seq). */
function seen(order: number[], overrides: Partial<Observation> = {}): Observation[] {
  return ['alice/laptop', 'bob/phone'].flatMap((d) => {
    const [user = '', device = ''] = d.split('/');
    return (['shown', 'scratch'] as const).flatMap((view) =>
      order.map((n, i) => ({
        user,
        device,
        view,
        key: `alice/laptop/c${n}`,
        id: `m${n}`,
        conversation: DM,
        stream: 'inbox',
        seq: n,
        atMs: 10_000 + i,
        ...overrides,
      })),
    );
  });
}

function history(sends: SendRecord[], observations: Observation[], faults: FaultRecord[] = []): History {
  return {
    startedAtMs: 0,
    endedAtMs: 20_000,
    members: { [DM]: ['alice', 'bob'] },
    devices: { alice: ['laptop'], bob: ['phone'] },
    sends,
    observations,
    resets: [],
    faults,
  };
}

const clean = [send(1, 0, 10), send(2, 20, 30), send(3, 40, 50)];

describe('chaos checker', () => {
  it('a clean history has no finding', () => {
    const report = check(history(clean, seen([1, 2, 3])));
    assert.equal(report.ok, true);
    assert.equal(report.acknowledged, 3);
    assert.equal(report.lost.count + report.duplicates.count + report.seqsReused.count + report.inversions.count, 0);
  });

  it('an acknowledged message missing on one device is lost, named with the device and the view', () => {
    const observations = seen([1, 2, 3]).filter((o) => !(o.key === 'alice/laptop/c2' && o.user === 'bob'));
    const report = check(history(clean, observations));
    assert.equal(report.ok, false);
    assert.equal(report.lost.count, 1);
    assert.equal(report.lost.deliveries, 2);
    assert.deepEqual(report.lost.examples[0]?.missingOn, ['bob/phone (shown)', 'bob/phone (scratch)']);
  });

  it('a send never acknowledged is not lost when it is missing', () => {
    const report = check(history([...clean, send(4, 60)], seen([1, 2, 3])));
    assert.equal(report.ok, true);
    assert.equal(report.unacknowledged, 1);
  });

  it('a message shown twice is a duplicate, and so is one stored twice under two server ids', () => {
    const twice = seen([1, 2, 3]);
    twice.push({ ...twice.find((o) => o.user === 'bob' && o.view === 'shown' && o.seq === 2)!, atMs: 20_000 });
    twice.push({ ...twice.find((o) => o.user === 'bob' && o.view === 'scratch' && o.seq === 3)!, id: 'm9', seq: 9 });
    const report = check(history(clean, twice));
    assert.equal(report.duplicates.count, 2);
    assert.deepEqual(
      report.duplicates.examples.map((d) => [d.device, d.view, d.key, d.ids]),
      [
        ['bob/phone', 'shown', 'alice/laptop/c2', ['m2', 'm2']],
        ['bob/phone', 'scratch', 'alice/laptop/c3', ['m3', 'm9']],
      ],
    );
  });

  it('entries shown again after the device was told to reset are no duplicates', () => {
    const h = history(clean, [
      ...seen([1, 2, 3]),
      ...seen([1, 2, 3], { atMs: 15_000 }).filter((o) => o.view === 'shown'),
    ]);
    h.resets = [
      { user: 'alice', device: 'laptop', atMs: 14_000 },
      { user: 'bob', device: 'phone', atMs: 14_000 },
    ];
    assert.equal(check(h).ok, true);
  });

  it('one seq given to two messages is a reused seq, also when only the acknowledgement tells it', () => {
    const observations = seen([1, 2, 3]).map((o) => (o.seq === 3 ? { ...o, seq: 2 } : o));
    const report = check(history(clean, observations));
    assert.equal(report.seqsReused.count, 2);
    assert.deepEqual(report.seqsReused.examples[0], { stream: 'alice:inbox', seq: 2, ids: ['m2', 'm3'] });
    const byAck = check(
      history(
        [...clean, { ...send(4, 60, 70), ack: { id: 'm4', seq: 1, stream: 'inbox', atMs: 70 } }],
        seen([1, 2, 3]),
      ),
    );
    assert.deepEqual(byAck.seqsReused.examples, [{ stream: 'alice:inbox', seq: 1, ids: ['m1', 'm4'] }]);
  });

  it('a message shown before one acknowledged before it was sent is an inversion', () => {
    const report = check(history(clean, seen([1, 3, 2])));
    assert.equal(report.ok, false);
    assert.equal(report.inversions.count, 4);
    assert.deepEqual(report.inversions.examples[0], {
      device: 'alice/laptop',
      view: 'shown',
      conversation: DM,
      shownFirst: 'alice/laptop/c3',
      acknowledgedBefore: 'alice/laptop/c2',
    });
  });

  it('concurrent sends may show in either order: no inversion', () => {
    // c2 was sent before c1 was acknowledged: nothing orders them.
    const concurrent = [send(1, 0, 30), send(2, 20, 40), send(3, 50, 60)];
    assert.equal(check(history(concurrent, seen([2, 1, 3]))).inversions.count, 0);
  });

  it('an acknowledgement while the inbox store was down is reported with its window; one in the grace is not', () => {
    const down: FaultRecord = {
      name: 'cassandra down 30 s',
      target: 'cassandra',
      startedAtMs: 1_000,
      endedAtMs: 31_000,
      readyAtMs: 40_000,
      storeDown: true,
    };
    const sends = [send(1, 900, 1_500), send(2, 1_600, 5_000), send(3, 30_000, 41_000)];
    const report = check(history(sends, seen([1, 2, 3]), [down]));
    assert.equal(report.acksWhileStoreDown.count, 1);
    assert.deepEqual(report.acksWhileStoreDown.examples[0], {
      key: 'alice/laptop/c2',
      ackAtMs: 5_000,
      fault: 'cassandra down 30 s',
      downFromMs: 1_000,
      downToMs: 31_000,
    });
  });

  it('recovery: until every send the fault stalled was acknowledged, and until every sending device had one again', () => {
    const kill: FaultRecord = {
      name: 'kill -9 logic',
      target: 'logic',
      startedAtMs: 1_000,
      endedAtMs: 3_000,
      readyAtMs: 6_000,
      storeDown: false,
    };
    const sends = [send(1, 500, 900), send(2, 1_100, 9_000), send(3, 9_100, 9_200)];
    const [r] = check(history(sends, seen([1, 2, 3]), [kill])).recovery;
    assert.deepEqual(
      { stalled: r?.stalledSends, recovered: r?.recoveredAfterMs, all: r?.allSendingAfterMs, ready: r?.readyAfterMs },
      { stalled: 1, recovered: 8_000, all: 8_000, ready: 5_000 },
    );
  });
});
