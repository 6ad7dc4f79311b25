import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { message as inboxMessage } from '../test/fixtures.ts';
import { Offline } from '../offline/index.ts';
import { MemoryInboxStore } from '../offline/inbox-store.memory.ts';
import { MemorySequencer } from '../offline/sequencer.memory.ts';
import { groupStream } from '../offline/stream-heads.ts';
import { SyncResponse } from '../proto/gen/im/v1/client.pb.ts';
import type { Message } from '../proto/gen/im/v1/message.pb.ts';
import { decodeSyncKey } from './sync-key.ts';
import { Sync } from './index.ts';
import { PagesAhead } from './pages-ahead.ts';
import { memoryOffline } from '../test/offline.ts';

/** An offline service whose sequencer epoch is `epoch`, over `inbox` (two of them share one: a rebuilt sequencer). */
function offlineAt(epoch: number, inbox: MemoryInboxStore): Offline {
  return memoryOffline({ sequencer: new MemorySequencer(30_000, () => epoch), inbox });
}

/** Writes `message` as the next entry of a large group's timeline, at the seq its sequencer allocates (as logic does). */
async function appendToTimeline(offline: Offline, stream: string, message: Omit<Message, 'seq'>): Promise<number> {
  const [seq] = (await offline.allocateSeqs({ users: [stream] })).seqs;
  await offline.writeInbox({ entries: [{ user: stream, message: { ...message, seq: seq! } }] });
  return seq!;
}

async function deliver(offline: Offline, user: string, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const [seq] = (await offline.allocateSeqs({ users: [user] })).seqs;
    const message = { ...inboxMessage(seq!), conversation: 'dm:ann:bob' };
    await offline.writeInbox({ entries: [{ user, message }] });
  }
}

describe('Sync.getDiff and the epoch', () => {
  it('gives an empty key the current epoch and pages on from it without a reset', async () => {
    const offline = offlineAt(1000, new MemoryInboxStore());
    await deliver(offline, 'ann', 3);
    const sync = new Sync(offline);
    const first = await sync.getDiff({ user: 'ann', device: 'd', syncKey: '', limit: 2 });
    assert.deepEqual(
      first.messages.map((m) => m.seq),
      [1, 2],
    );
    assert.equal(first.hasMore, true);
    assert.equal(first.reset, false);
    assert.equal(decodeSyncKey(first.syncKey, 'ann', 0).epoch, 1000);
    const second = await sync.getDiff({ user: 'ann', device: 'd', syncKey: first.syncKey, limit: 2 });
    assert.deepEqual(
      second.messages.map((m) => m.seq),
      [3],
    );
    assert.equal(second.hasMore, false);
    assert.equal(second.reset, false);
  });

  it('answers a key from another epoch with reset and a page from the start, never a silent skip', async () => {
    const inbox = new MemoryInboxStore();
    const before = offlineAt(1000, inbox);
    await deliver(before, 'ann', 3);
    const { syncKey } = await new Sync(before).getDiff({ user: 'ann', device: 'd', syncKey: '', limit: 10 });
    // Rebuilt sequence state: a new epoch, and a head at or above every seq handed out before (the port's promise).
    const rebuilt = new MemorySequencer(30_000, () => 2000);
    await rebuilt.complete((await rebuilt.allocate(['ann', 'ann', 'ann'])).map((seq) => ({ user: 'ann', seq })));
    const after = new Sync(memoryOffline({ sequencer: rebuilt, inbox }));
    const res = await after.getDiff({ user: 'ann', device: 'd', syncKey, limit: 10 });
    assert.equal(res.reset, true);
    assert.deepEqual(
      res.messages.map((m) => m.seq),
      [1, 2, 3],
    );
    assert.equal(decodeSyncKey(res.syncKey, 'ann', 0).epoch, 2000);
    const again = await after.getDiff({ user: 'ann', device: 'd', syncKey: res.syncKey, limit: 10 });
    assert.equal(again.reset, false);
    assert.deepEqual(again.messages, []);
  });
});

describe('Sync.getDiffEncoded', () => {
  it('is byte for byte SyncResponse.encode of getDiff, for inbox pages and pages with large-group messages', async () => {
    const offline = offlineAt(1000, new MemoryInboxStore());
    await deliver(offline, 'ann', 5);
    // A large group's timeline, interleaved in time with the inbox.
    const stream = groupStream('big');
    for (let seq = 1; seq <= 3; seq++) {
      await appendToTimeline(offline, stream, {
        ...inboxMessage(seq),
        conversation: 'group:big',
        sentAtMs: seq * 2,
        streamIndex: seq,
      });
    }
    const sync = new Sync(offline, () => Promise.resolve(['big']));
    let syncKey = '';
    let pages = 0;
    const conversations = new Set<string>();
    for (let hasMore = true; hasMore; pages++) {
      const request = { user: 'ann', device: 'd', syncKey, limit: 3 };
      const decoded = await sync.getDiff(request);
      const encoded = await sync.getDiffEncoded(request);
      assert.deepEqual(encoded, SyncResponse.encode(decoded).finish());
      assert.deepEqual(SyncResponse.decode(encoded), decoded);
      for (const m of decoded.messages) conversations.add(m.conversation);
      ({ syncKey, hasMore } = decoded);
    }
    assert.equal(pages, 3, 'eight messages in pages of three');
    assert.deepEqual([...conversations].sort(), ['dm:ann:bob', 'group:big']);
  });
});

describe('Sync.ackMany', () => {
  it("moves each device's cursor as its own ack would and answers in order", async () => {
    const offline = offlineAt(1000, new MemoryInboxStore());
    await deliver(offline, 'ann', 3);
    await deliver(offline, 'bob', 2);
    const sync = new Sync(offline);
    const ann = await sync.getDiff({ user: 'ann', device: 'phone', syncKey: '', limit: 10 });
    const bob = await sync.getDiff({ user: 'bob', device: 'laptop', syncKey: '', limit: 10 });
    const { results } = await sync.ackMany({
      requests: [
        { user: 'ann', device: 'phone', syncKey: ann.syncKey, inboxSeq: 3, streams: [] },
        { user: 'bob', device: 'laptop', syncKey: bob.syncKey, inboxSeq: 2, streams: [] },
      ],
    });
    assert.deepEqual(
      results.map((r) => r.inboxSeq),
      [3, 2],
    );
    assert.equal((await offline.getCursor({ user: 'ann', device: 'phone' })).seq, 3);
    assert.equal((await offline.getCursor({ user: 'bob', device: 'laptop' })).seq, 2);
    await assert.rejects(
      sync.ackMany({ requests: [{ user: 'ann', device: 'phone', syncKey: 'garbage', inboxSeq: 1, streams: [] }] }),
    );
  });
});

describe('Sync.getDiff and where the key stands', () => {
  it('moves the key past seqs that are gaps, up to the head, but never to or past a seq still in flight', async () => {
    const sequencer = new MemorySequencer();
    const offline = memoryOffline({ sequencer, inbox: new MemoryInboxStore() });
    const sync = new Sync(offline);
    await deliver(offline, 'ann', 2); // seqs 1 and 2, written
    // Seqs 3 and 4 allocated and released without a row (a send that failed after allocating): gaps.
    for (let i = 0; i < 2; i++) {
      const [seq] = await sequencer.allocate(['ann']);
      await sequencer.complete([{ user: 'ann', seq: seq! }]);
    }
    const first = await sync.getDiff({ user: 'ann', device: 'd', syncKey: '', limit: 10 });
    assert.deepEqual(
      first.messages.map((m) => m.seq),
      [1, 2],
    );
    assert.equal(first.inboxSeq, 4, 'caught up through the gaps');
    // Seq 5 in flight (allocated, not yet written): the key stops below it, so its row is read once written.
    const [inFlight] = (await offline.allocateSeqs({ users: ['ann'] })).seqs;
    const held = await sync.getDiff({ user: 'ann', device: 'd', syncKey: first.syncKey, limit: 10 });
    assert.deepEqual(held.messages, []);
    assert.equal(held.inboxSeq, 4);
    await offline.writeInbox({
      entries: [{ user: 'ann', message: { ...inboxMessage(inFlight!), conversation: 'dm:ann:bob' } }],
    });
    const after = await sync.getDiff({ user: 'ann', device: 'd', syncKey: held.syncKey, limit: 10 });
    assert.deepEqual(
      after.messages.map((m) => m.seq),
      [5],
    );
    assert.equal(after.inboxSeq, 5);
  });
});

describe('Sync.getDiff reads the next page ahead', () => {
  /** `offline` whose inbox reads are recorded (their afterSeq), and fail when `failing` says so. */
  function recorded(offline: Offline, failing: (afterSeq: number) => boolean = () => false) {
    const reads: number[] = [];
    const stores = Object.create(offline) as Offline;
    stores.readInboxEncoded = (request) => {
      reads.push(request.afterSeq);
      if (failing(request.afterSeq)) return Promise.reject(new Error('store unavailable'));
      return offline.readInboxEncoded(request);
    };
    return { stores, reads };
  }
  const seqsOf = (res: SyncResponse) => res.messages.map((m) => m.seq);

  it('serves the next page from the read it started while the last one travelled, once', async () => {
    const offline = offlineAt(1000, new MemoryInboxStore());
    await deliver(offline, 'ann', 5);
    const { stores, reads } = recorded(offline);
    const sync = new Sync(stores);
    const first = await sync.getDiff({ user: 'ann', device: 'phone', syncKey: '', limit: 2 });
    assert.deepEqual(seqsOf(first), [1, 2]);
    assert.deepEqual(reads, [0, 2], 'page 2 is read before it is asked for');
    const second = await sync.getDiff({ user: 'ann', device: 'phone', syncKey: first.syncKey, limit: 2 });
    assert.deepEqual(seqsOf(second), [3, 4]);
    const third = await sync.getDiff({ user: 'ann', device: 'phone', syncKey: second.syncKey, limit: 2 });
    assert.deepEqual(seqsOf(third), [5]);
    assert.equal(third.hasMore, false);
    assert.deepEqual(reads, [0, 2, 4], 'one read per page, none after the last');
    // Another device at the same point reads for itself: a page read ahead is handed over once.
    const laptop = await sync.getDiff({ user: 'ann', device: 'laptop', syncKey: first.syncKey, limit: 2 });
    assert.deepEqual(seqsOf(laptop), [3, 4]);
    assert.deepEqual(reads, [0, 2, 4, 2, 4]);
  });

  it('loses nothing that arrives between a read ahead and the GetDiff it serves, and repeats nothing', async () => {
    const offline = offlineAt(1000, new MemoryInboxStore());
    await deliver(offline, 'ann', 4);
    const sync = new Sync(recorded(offline).stores);
    const first = await sync.getDiff({ user: 'ann', device: 'd', syncKey: '', limit: 2 });
    await deliver(offline, 'ann', 1);
    const second = await sync.getDiff({ user: 'ann', device: 'd', syncKey: first.syncKey, limit: 2 });
    assert.deepEqual(seqsOf(second), [3, 4]);
    assert.equal(second.inboxSeq, 4);
    const third = await sync.getDiff({ user: 'ann', device: 'd', syncKey: second.syncKey, limit: 2 });
    assert.deepEqual(seqsOf(third), [5], 'nothing lost, nothing twice');
  });

  it('reads nothing ahead while as many entries are held as allowed, so no page read is thrown away', async () => {
    const offline = offlineAt(1000, new MemoryInboxStore());
    await deliver(offline, 'ann', 3);
    await deliver(offline, 'bob', 3);
    const { stores, reads } = recorded(offline);
    const sync = new Sync(stores, undefined, { ahead: new PagesAhead({ maxEntries: 2 }) });
    const ann = await sync.getDiff({ user: 'ann', device: 'd', syncKey: '', limit: 2 });
    const bob = await sync.getDiff({ user: 'bob', device: 'd', syncKey: '', limit: 2 });
    assert.deepEqual(reads, [0, 2, 0], "ann's page 2 fills the room; bob's is not read ahead");
    assert.deepEqual(seqsOf(await sync.getDiff({ user: 'bob', device: 'd', syncKey: bob.syncKey, limit: 2 })), [3]);
    assert.deepEqual(seqsOf(await sync.getDiff({ user: 'ann', device: 'd', syncKey: ann.syncKey, limit: 2 })), [3]);
    assert.deepEqual(reads, [0, 2, 0, 2]);
  });

  it('reads again itself when the read ahead failed', async () => {
    const offline = offlineAt(1000, new MemoryInboxStore());
    await deliver(offline, 'ann', 3);
    let failures = 1;
    const { stores, reads } = recorded(offline, (afterSeq) => afterSeq === 2 && failures-- > 0);
    const sync = new Sync(stores);
    const first = await sync.getDiff({ user: 'ann', device: 'd', syncKey: '', limit: 2 });
    const second = await sync.getDiff({ user: 'ann', device: 'd', syncKey: first.syncKey, limit: 2 });
    assert.deepEqual(seqsOf(second), [3]);
    assert.deepEqual(reads, [0, 2, 2]);
  });
});

describe('Sync.getDiff bounds a page in bytes as well as in count', () => {
  const body = (seq: number) => Buffer.alloc(32 * 1024, seq % 251);

  async function pageThrough(sync: Sync, user: string, limit: number) {
    const seen: number[] = [];
    const sizes: number[] = [];
    let syncKey = '';
    for (let hasMore = true, pages = 0; hasMore && pages < 100; pages++) {
      const encoded = await sync.getDiffEncoded({ user, device: 'd', syncKey, limit });
      const page = SyncResponse.decode(encoded);
      sizes.push(encoded.length);
      for (const m of page.messages) {
        assert.equal(m.body.length, 32 * 1024, 'no message is cut off');
        seen.push(m.seq);
      }
      ({ syncKey, hasMore } = page);
    }
    return { seen, sizes };
  }

  it('splits 50 messages of 32 KB asked for in one page of 500 into pages under the bound, losing none', async () => {
    const offline = offlineAt(1000, new MemoryInboxStore());
    for (let i = 0; i < 50; i++) {
      const [seq] = (await offline.allocateSeqs({ users: ['ann'] })).seqs;
      const message = { ...inboxMessage(seq!), conversation: 'dm:ann:bob', body: body(seq!) };
      await offline.writeInbox({ entries: [{ user: 'ann', message }] });
    }
    const sync = new Sync(offline, undefined, { maxPageBytes: 200 * 1024 });
    const { seen, sizes } = await pageThrough(sync, 'ann', 500);
    assert.deepEqual(
      seen,
      Array.from({ length: 50 }, (_, i) => i + 1),
    );
    assert.ok(sizes.length >= 9, `${sizes.length} pages`);
    for (const size of sizes) assert.ok(size <= 200 * 1024 + 1024, `a page of ${size} bytes`);
  });

  it("bounds a large group's timeline messages too, and still moves on when one message is over the bound", async () => {
    const offline = offlineAt(1000, new MemoryInboxStore());
    const stream = groupStream('big');
    for (let seq = 1; seq <= 20; seq++) {
      await appendToTimeline(offline, stream, {
        ...inboxMessage(seq),
        conversation: 'group:big',
        streamIndex: seq,
        body: body(seq),
      });
    }
    const bounded = new Sync(offline, () => Promise.resolve(['big']), { maxPageBytes: 100 * 1024 });
    const { seen, sizes } = await pageThrough(bounded, 'ann', 500);
    assert.deepEqual(
      seen,
      Array.from({ length: 20 }, (_, i) => i + 1),
    );
    for (const size of sizes) assert.ok(size <= 100 * 1024 + 1024, `a page of ${size} bytes`);
    const tiny = new Sync(offline, () => Promise.resolve(['big']), { maxPageBytes: 1024 });
    const one = await pageThrough(tiny, 'ann', 500);
    assert.equal(one.seen.length, 20, 'one message per page, each whole');
  });
});
