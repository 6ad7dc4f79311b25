import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { connectCassandra, type Client } from '../../lib/cassandra.ts';
import { engines } from '../../test/engines.ts';
import { CassandraDeadLetterStore } from './dead-letter-store.cassandra.ts';
import { deadLetterStoreContract } from './dead-letter-store.contract.ts';
import type { DeadLetter } from './dead-letter-store.ts';

// Real Cassandra, never skipped: an unreachable node fails these tests. Every store is a partition of its own (a
// random shard), so it sees neither other runs' letters nor what earlier runs left.
const connect = async () => connectCassandra((await engines('cassandra')).cassandra, { migrate: true });
const shard = () => randomInt(1, 2 ** 31 - 1);

deadLetterStoreContract('cassandra', async ({ capacity }) => {
  const client = await connect();
  return {
    store: new CassandraDeadLetterStore(client, { shard: shard(), ...(capacity === undefined ? {} : { capacity }) }),
    close: () => client.shutdown(),
  };
});

describe('CassandraDeadLetterStore', () => {
  let client: Client;
  before(async () => (client = await connect()));
  after(() => client.shutdown());
  const letter = (id: string, fields: Partial<DeadLetter> = {}): DeadLetter => ({
    id,
    user: 'ann',
    device: 'phone',
    push: {
      id,
      target: { platform: 'apns', token: `tok-${id}`, topic: 'com.example.im', environment: 'production' },
      badge: 1,
      collapseId: 'c:ann:bob',
      priority: 'normal',
      expireAtMs: 0,
      data: {},
    },
    reason: 'ServiceUnavailable',
    attempts: 5,
    atMs: 1_000,
    ...fields,
  });
  const ids = async (store: CassandraDeadLetterStore) => (await store.list('', 1_000)).items.map((l) => l.id);

  it('keeps the bound approximately across stores adding at once, and the next add restores it', async () => {
    const s = shard();
    const [one, two] = [0, 1].map(() => new CassandraDeadLetterStore(client, { shard: s, capacity: 4 })) as [
      CassandraDeadLetterStore,
      CassandraDeadLetterStore,
    ];
    await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        (i % 2 ? one : two).add(letter(`id-${String(i).padStart(2, '0')}`, { atMs: i })),
      ),
    );
    // Each store's trims saw its own writes; the other's may have come after its last count.
    const kept = await ids(one);
    assert.ok(kept.length >= 4 && kept.length <= 12, `${kept.length} kept`);
    assert.ok(kept.includes('id-11'));
    await one.add(letter('id-12', { atMs: 12 }));
    assert.deepEqual(await ids(two), ['id-09', 'id-10', 'id-11', 'id-12']);
  });

  it('deletes the version of a letter it read: one added again since stays', async () => {
    const s = shard();
    const store = new CassandraDeadLetterStore(client, { shard: s });
    await store.add(letter('a', { atMs: 1_000 }));
    const { rows } = await client.execute(
      'SELECT WRITETIME(at_ms) AS written FROM push_dead_letters WHERE shard = ? AND id = ?',
      [s, 'a'],
    );
    const written = rows[0]!.get('written') as unknown;
    // Added again (later), then a delete of the version first read, as a take or a trim that read it makes.
    await store.add(letter('a', { atMs: 2_000, reason: 'again' }));
    await client.execute('DELETE FROM push_dead_letters USING TIMESTAMP ? WHERE shard = ? AND id = ?', [
      written,
      s,
      'a',
    ]);
    assert.deepEqual((await store.list('', 10)).items, [letter('a', { atMs: 2_000, reason: 'again' })]);
  });

  it('trims what is past capacity however far past it is (a smaller capacity than before)', async () => {
    const s = shard();
    const roomy = new CassandraDeadLetterStore(client, { shard: s, capacity: 1_000 });
    const letters = Array.from({ length: 250 }, (_, i) =>
      letter(`id-${String(i).padStart(3, '0')}`, { atMs: 1_000 - i }),
    );
    await Promise.all(letters.map((l) => roomy.add(l)));
    assert.equal((await ids(roomy)).length, 250);
    const tight = new CassandraDeadLetterStore(client, { shard: s, capacity: 10 });
    await tight.add(letter('new', { atMs: 5_000 }));
    assert.deepEqual(await ids(tight), [...letters.slice(0, 9).map((l) => l.id), 'new']);
  });
});
