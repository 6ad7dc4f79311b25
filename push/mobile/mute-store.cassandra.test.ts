import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { connectCassandra, type Client } from '../../lib/cassandra.ts';
import { engines } from '../../test/engines.ts';
import { CassandraMuteStore } from './mute-store.cassandra.ts';
import { muteStoreContract } from './mute-store.contract.ts';
import { MUTED_FOREVER } from './mute-store.ts';

// Real Cassandra, never skipped: an unreachable node fails these tests. Users are fresh per run.
const connect = async () => connectCassandra((await engines('cassandra')).cassandra, { migrate: true });

muteStoreContract('cassandra', async () => {
  const client = await connect();
  return { store: new CassandraMuteStore(client), close: () => client.shutdown() };
});

describe('CassandraMuteStore', () => {
  let client: Client;
  before(async () => (client = await connect()));
  after(() => client.shutdown());
  const run = randomUUID().slice(0, 8);

  it('answers a batch of many users with one request in flight at a time, and lists a partition past a page', async () => {
    const store = new CassandraMuteStore(client, { concurrency: 1 });
    const users = Array.from({ length: 30 }, (_, i) => `u${i}-${run}`);
    await Promise.all(users.map((u, i) => (i % 3 === 0 ? store.set(u, 'g:1', MUTED_FOREVER) : Promise.resolve())));
    const pairs = users.map((user) => ({ user, conversation: 'g:1' }));
    assert.deepEqual(
      await store.mutedOf(pairs, 1_000),
      users.map((_, i) => i % 3 === 0),
    );

    const many = `many-${run}`;
    const conversations = Array.from({ length: 1_205 }, (_, i) => `c${String(i).padStart(4, '0')}`);
    for (let i = 0; i < conversations.length; i += 100)
      await Promise.all(conversations.slice(i, i + 100).map((c) => store.set(many, c, 5_000)));
    const listed = await store.ofUser(many, 1_000);
    assert.deepEqual(
      listed.map((m) => m.conversation),
      conversations,
    );
  });
});
