import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { connectCassandra, type Client } from '../lib/cassandra.ts';
import { engines } from '../test/engines.ts';
import { CassandraGroupStore } from './group-store.cassandra.ts';
import { groupStoreContract } from './group-store.contract.ts';

// Real Cassandra, never skipped: an unreachable node fails these tests. Group and user ids are fresh per test,
// because the keyspace is shared with whoever else runs tests at the same time.
const connect = async (): Promise<Client> =>
  connectCassandra((await engines('cassandra')).cassandra, { migrate: true });

groupStoreContract('cassandra', async () => {
  const client = await connect();
  return { store: new CassandraGroupStore(client), close: () => client.shutdown() };
});

describe('CassandraGroupStore', () => {
  let client: Client;
  let store: CassandraGroupStore;
  before(async () => {
    client = await connect();
    store = new CassandraGroupStore(client);
  });
  after(() => client.shutdown());
  const newGroup = () => ({ id: randomUUID(), name: 'team', owner: 'ann', createdAtMs: Date.now() });

  it('refuses to create a group whose id exists, leaving it as it was', async () => {
    const g = newGroup();
    await store.create(g, ['ann']);
    await assert.rejects(store.create({ ...g, name: 'other' }, ['eve']), /exists/);
    assert.deepEqual(await store.get(g.id), g);
    assert.deepEqual(await store.members(g.id), ['ann']);
  });

  it('refuses member changes of a group that does not exist', async () => {
    await assert.rejects(store.addMembers(randomUUID(), ['ann']), /does not exist/);
    await assert.rejects(store.removeMembers(randomUUID(), ['ann']), /does not exist/);
  });

  it('keeps user_groups in step with the members, and lists members sorted as JS sorts', async () => {
    const run = randomUUID().slice(0, 8);
    const [ann, bob, zed] = ['ann', 'Bob', 'zed'].map((n) => `${n}-${run}`);
    const [g1, g2] = [newGroup(), newGroup()];
    await store.create(g1, [zed!, ann!]);
    await store.create(g2, [ann!]);
    assert.equal(await store.addMembers(g1.id, [bob!, bob!]), 3);
    assert.deepEqual(await store.members(g1.id), [ann, bob, zed].sort());
    assert.deepEqual(await store.groupsOf(ann!), [g1.id, g2.id].sort());
    assert.equal(await store.removeMembers(g1.id, [ann!]), 2);
    assert.deepEqual(await store.groupsOf(ann!), [g2.id]);
    assert.equal(await store.isMember(g1.id, ann!), false);
    assert.deepEqual(await store.groupsOf(bob!), [g1.id]);
  });

  it('pages through a group larger than one page', async () => {
    const g = newGroup();
    const users = Array.from({ length: 120 }, (_, i) => `m${String(i).padStart(3, '0')}-${g.id.slice(0, 8)}`);
    await store.create(g, users);
    const small = new CassandraGroupStore(client, { concurrency: 2, pageSize: 16 });
    assert.equal((await small.members(g.id)).length, 120);
    assert.deepEqual(await small.members(g.id), users);
  });
});
