import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { connectCassandra, type Client } from '../lib/cassandra.ts';
import { engines } from '../test/engines.ts';
import { BUCKET_SIZE, CassandraInboxStore } from './inbox-store.cassandra.ts';
import { message } from '../test/fixtures.ts';
import { inboxStoreContract } from './inbox-store.contract.ts';
import { TERM_SHIFT } from './seq-term-store.ts';

// Real Cassandra, never skipped: an unreachable node fails these tests. Every test uses fresh user ids, because
// the keyspace is shared with whoever else runs tests at the same time.
const connect = async (): Promise<Client> =>
  connectCassandra((await engines('cassandra')).cassandra, { migrate: true });

inboxStoreContract(
  'cassandra',
  async () => {
    const client = await connect();
    return { store: new CassandraInboxStore(client), close: () => client.shutdown() };
  },
  1_000,
);

describe('CassandraInboxStore', () => {
  let client: Client;
  before(async () => (client = await connect()));
  after(() => client.shutdown());
  const user = () => `u-${randomUUID()}`;
  const seqsOf = (page: { messages: { seq: number }[] }) => page.messages.map((m) => m.seq);

  it('reads across buckets and term jumps, walking only buckets that exist', async () => {
    const store = new CassandraInboxStore(client);
    const u = user();
    const seqs = [5, BUCKET_SIZE + 3, TERM_SHIFT + 1, TERM_SHIFT + 2, 3 * TERM_SHIFT + 7];
    await store.write(seqs.map((seq) => ({ user: u, message: message(seq) })));
    assert.deepEqual(seqsOf(await store.read(u, 0, 100)), seqs);
    const first = await store.read(u, 0, 2);
    assert.deepEqual(seqsOf(first), seqs.slice(0, 2));
    assert.equal(first.hasMore, true);
    const second = await store.read(u, BUCKET_SIZE + 3, 2);
    assert.deepEqual(seqsOf(second), seqs.slice(2, 4));
    assert.equal(second.hasMore, true);
    const last = await store.read(u, TERM_SHIFT + 2, 2);
    assert.deepEqual(seqsOf(last), seqs.slice(4));
    assert.equal(last.hasMore, false);
    const bounded = await store.read(u, 4, 10, TERM_SHIFT + 2);
    assert.deepEqual(seqsOf(bounded), seqs.slice(0, 3));
    assert.equal(bounded.hasMore, false);
    assert.equal((await store.read(u, 4, 2, TERM_SHIFT + 2)).hasMore, true);
    assert.equal((await store.read(u, 3 * TERM_SHIFT + 7, 10)).messages.length, 0);
    assert.equal(Buffer.from((await store.read(u, 4, 1)).messages[0]!.body).toString(), 'm5');
  });

  it('keeps the last of several writes of one seq, and a fresh store instance reads them all', async () => {
    const u = user();
    await new CassandraInboxStore(client).write([
      { user: u, message: message(7, 'first') },
      { user: u, message: message(7, 'second') },
      ...Array.from({ length: 150 }, (_, i) => ({ user: u, message: message(100 + i) })),
    ]);
    const page = await new CassandraInboxStore(client).read(u, 0, 1000);
    assert.equal(page.messages.length, 151);
    assert.equal(Buffer.from(page.messages[0]!.body).toString(), 'second');
  });

  it('drops whole old buckets beyond retention and reports the highest dropped seq as floorSeq', async () => {
    const store = new CassandraInboxStore(client, { retainedPerUser: 1 }); // keeps the newest 2 buckets
    const u = user();
    const b = (n: number, offset: number) => n * BUCKET_SIZE + offset;
    await store.write([1, 2, b(1, 4), b(2, 9)].map((seq) => ({ user: u, message: message(seq) })));
    let page = await store.read(u, 0, 10);
    assert.deepEqual(seqsOf(page), [b(1, 4), b(2, 9)]);
    assert.equal(page.floorSeq, 2);
    // With the head as a hint, a reader behind the floor is still told (the read spans buckets: the index decides).
    assert.equal((await store.read(u, 0, 10, Infinity, b(2, 9))).floorSeq, 2);
    assert.deepEqual(seqsOf(await store.read(u, b(2, 0), 10, Infinity, b(2, 9))), [b(2, 9)]);
    // A late write below the floor stays invisible, as in the memory adapter.
    await store.write([{ user: u, message: message(1) }]);
    assert.deepEqual(seqsOf(await store.read(u, 0, 10)), [b(1, 4), b(2, 9)]);
    await store.write([{ user: u, message: message(TERM_SHIFT + 1) }]);
    page = await store.read(u, 0, 10);
    assert.deepEqual(seqsOf(page), [b(2, 9), TERM_SHIFT + 1]);
    assert.equal(page.floorSeq, b(1, 4));
    // Another instance (another process, in effect) sees the same floor.
    assert.equal((await new CassandraInboxStore(client).read(u, 0, 10)).floorSeq, b(1, 4));
  });

  it('keeps the highest ack whatever order concurrent acks arrive in', async () => {
    const store = new CassandraInboxStore(client);
    const u = user();
    const seqs = Array.from({ length: 20 }, (_, i) => TERM_SHIFT + i + 1).sort(() => Math.random() - 0.5);
    await Promise.all(seqs.map((seq) => store.ack(u, 'phone', seq)));
    assert.equal(await store.cursor(u, 'phone'), TERM_SHIFT + 20);
    await new CassandraInboxStore(client).ack(u, 'phone', 3);
    assert.equal(await store.cursor(u, 'phone'), TERM_SHIFT + 20);
    await store.ack(u, 'phone', 0);
    assert.equal(await store.cursor(u, 'phone'), TERM_SHIFT + 20);
  });
});
