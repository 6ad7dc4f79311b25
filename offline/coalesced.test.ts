import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryInboxStore } from './inbox-store.memory.ts';
import { MemorySequencer } from './sequencer.memory.ts';
import type { WriteInboxRequest } from '../proto/gen/im/v1/services.pb.ts';
import { message } from '../test/fixtures.ts';
import { coalescedOffline } from './coalesced.ts';
import { memoryOffline } from '../test/offline.ts';

describe('coalesced calls to offline', () => {
  it('gives each concurrent AllocateSeqs its own seqs, in order, from one call', async () => {
    const offline = memoryOffline({ sequencer: new MemorySequencer(), inbox: new MemoryInboxStore(1000) });
    let calls = 0;
    const counting = new Proxy(offline, {
      get: (t, key) => (key === 'allocateSeqs' ? (calls++, t.allocateSeqs.bind(t)) : (Reflect.get(t, key) as unknown)),
    });
    const coalesced = coalescedOffline(counting);
    const [a, b, c] = await Promise.all([
      coalesced.allocateSeqs({ users: ['bob', 'ann'] }),
      coalesced.allocateSeqs({ users: ['bob'] }),
      coalesced.allocateSeqs({ users: ['cy', 'bob'] }),
    ]);
    assert.equal(calls, 1);
    const bobs = [a.seqs[0]!, b.seqs[0]!, c.seqs[1]!];
    assert.equal(new Set(bobs).size, 3, 'one user in several requests gets distinct seqs');
    assert.deepEqual(
      [...bobs].sort((x, y) => x - y),
      bobs,
      'in the order the requests were made',
    );
    assert.equal(a.seqs.length + b.seqs.length + c.seqs.length, 5);
  });

  it('writes the entries and unread updates of concurrent WriteInbox calls in one call', async () => {
    const offline = memoryOffline({ sequencer: new MemorySequencer(), inbox: new MemoryInboxStore(1000) });
    const seen: WriteInboxRequest[] = [];
    const recording = new Proxy(offline, {
      get: (t, key) =>
        key === 'writeInbox'
          ? (r: WriteInboxRequest) => (seen.push(r), t.writeInbox(r))
          : (Reflect.get(t, key) as unknown),
    });
    const coalesced = coalescedOffline(recording);
    const write = async (user: string, peer: string) => {
      const { seqs } = await offline.allocateSeqs({ users: [peer] });
      const seq = seqs[0]!;
      const conversation = `dm:${user}:${peer}`;
      return coalesced.writeInbox({
        entries: [{ user: peer, message: { ...message(seq), conversation } }],
        unread: { arrived: [{ user: peer, conversation, seq }], recalled: [], read: [], timelineRead: [] },
      });
    };
    await Promise.all([write('ann', 'bob'), write('cy', 'dee')]);
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!.entries.length, 2);
    assert.deepEqual(
      seen[0]!.unread?.arrived.map((e) => e.user),
      ['bob', 'dee'],
    );
    for (const user of ['bob', 'dee']) {
      const unread = await offline.getUnread({ user, throughSeq: 0, timelines: [] });
      assert.equal(unread.conversations[0]?.unread, 1, `${user} has one unread`);
      assert.equal((await offline.readInbox({ user, afterSeq: 0, limit: 10 })).messages.length, 1);
    }
  });

  it('answers concurrent ReadInbox, GetHeads and GetUnread calls each with its own result, from one call each', async () => {
    const offline = memoryOffline({ sequencer: new MemorySequencer(), inbox: new MemoryInboxStore(1000) });
    for (const [user, count] of [
      ['ann', 3],
      ['bob', 1],
    ] as const) {
      for (let i = 0; i < count; i++) {
        const [seq] = (await offline.allocateSeqs({ users: [user] })).seqs;
        const conversation = `dm:${user}:zed`;
        await offline.writeInbox({
          entries: [{ user, message: { ...message(seq!), conversation } }],
          unread: { arrived: [{ user, conversation, seq: seq! }], recalled: [], read: [], timelineRead: [] },
        });
      }
    }
    const calls: string[] = [];
    const counting = new Proxy(offline, {
      get: (t, key) => {
        const v = Reflect.get(t, key) as unknown;
        return typeof v === 'function'
          ? (...args: unknown[]) => (calls.push(String(key)), v.apply(t, args) as unknown)
          : v;
      },
    });
    const coalesced = coalescedOffline(counting);
    const [ann, bob, nobody] = await Promise.all([
      coalesced.readInbox({ user: 'ann', afterSeq: 1, limit: 10 }),
      coalesced.readInbox({ user: 'bob', afterSeq: 0, limit: 10 }),
      coalesced.readInbox({ user: 'cy', afterSeq: 0, limit: 10 }),
    ]);
    assert.deepEqual(
      [ann.messages.map((m) => m.seq), bob.messages.map((m) => m.seq), nobody.messages],
      [[2, 3], [1], []],
    );
    const [annUnread, bobUnread] = await Promise.all([
      coalesced.getUnread({ user: 'ann', throughSeq: 2, timelines: [] }),
      coalesced.getUnread({ user: 'bob', throughSeq: 0, timelines: [] }),
    ]);
    assert.equal(annUnread.conversations[0]?.unread, 2);
    assert.equal(bobUnread.conversations[0]?.unread, 1);
    const [h1, h2] = await Promise.all([
      coalesced.getHeads({ streams: ['g:one', 'g:two'] }),
      coalesced.getHeads({ streams: ['g:three'] }),
    ]);
    assert.deepEqual([h1.heads.map((h) => h.stream), h2.heads.map((h) => h.stream)], [['g:one', 'g:two'], ['g:three']]);
    assert.deepEqual(calls, ['readInboxes', 'getUnreads', 'getHeads']);
  });
});
