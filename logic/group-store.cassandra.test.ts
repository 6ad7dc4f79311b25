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
  const run = randomUUID().slice(0, 8);
  const [ann, eve] = [`ann-${run}`, `eve-${run}`];
  const newGroup = () => ({ id: randomUUID(), name: 'team', owner: ann, createdAtMs: Date.now() });

  it('refuses to create a group whose id exists, leaving it as it was', async () => {
    const g = newGroup();
    await store.create(g, [ann]);
    await assert.rejects(store.create({ ...g, name: 'other' }, [eve]), /exists/);
    assert.deepEqual(await store.get(g.id), g);
    assert.deepEqual(await store.members(g.id), [ann]);
  });

  it('refuses changes of a group that does not exist, and creates no row for it', async () => {
    const id = randomUUID();
    await assert.rejects(store.addMembers(id, [ann]), /does not exist/);
    await assert.rejects(store.removeMembers(id, [ann]), /does not exist/);
    await assert.rejects(store.setRole(id, ann, 'admin'), /does not exist/);
    await assert.rejects(store.transferOwnership(id, ann, eve), /does not exist/);
    await assert.rejects(store.dissolve(id, 1), /does not exist/);
    assert.equal(await store.get(id), undefined);
    assert.equal(await store.isMember(id, ann), false);
  });

  it('reads roles of groups written before roles existed (no role column): owner from the group, else member', async () => {
    const g = newGroup();
    await store.create(g, [ann, eve]);
    await client.execute('UPDATE group_members SET role = null WHERE group_id = ? AND user_id = ?', [g.id, eve], {
      prepare: true,
    });
    assert.deepEqual(
      await store.roles(g.id, [ann, eve]),
      new Map([
        [ann, 'owner'],
        [eve, 'member'],
      ]),
    );
  });

  it('reads roles of a group larger than one IN chunk', async () => {
    const g = newGroup();
    const users = Array.from({ length: 230 }, (_, i) => `r${String(i).padStart(3, '0')}-${run}`);
    await store.create(g, [ann, ...users]);
    const roles = await store.roles(g.id, [...users, `nobody-${run}`]);
    assert.equal(roles.size, 230);
    assert.ok([...roles.values()].every((r) => r === 'member'));
  });

  it('keeps user_groups in step with the members, and lists members sorted as JS sorts', async () => {
    const groupIds = async (user: string) =>
      (await store.groupsOf(user, { after: '', limit: 100 })).items.map(({ group }) => group.id);
    const [ann, bob, zed] = ['ann2', 'Bob', 'zed'].map((n) => `${n}-${run}`);
    const [g1, g2] = [newGroup(), newGroup()];
    await store.create(g1, [zed!, ann!]);
    await store.create(g2, [ann!]);
    assert.equal(await store.addMembers(g1.id, [bob!, bob!]), 3);
    assert.deepEqual(await store.members(g1.id), [ann, bob, zed].sort());
    assert.deepEqual(await groupIds(ann!), [g1.id, g2.id].sort());
    assert.equal(await store.removeMembers(g1.id, [ann!]), 2);
    assert.deepEqual(await groupIds(ann!), [g2.id]);
    assert.equal(await store.isMember(g1.id, ann!), false);
    assert.deepEqual(await groupIds(bob!), [g1.id]);
  });

  it('leaves a stale user_groups row (an interrupted change) out of the group list', async () => {
    const [g1, g2] = [newGroup(), newGroup()];
    const user = `stale-${run}`;
    await store.create(g1, [ann, user]);
    await store.create(g2, [ann, user]);
    await client.execute('DELETE FROM group_members WHERE group_id = ? AND user_id = ?', [g1.id, user], {
      prepare: true,
    });
    const page = await store.groupsOf(user, { after: '', limit: 100 });
    assert.deepEqual(
      page.items.map(({ group }) => group.id),
      [g2.id],
    );
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
