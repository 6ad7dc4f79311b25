import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { connectCassandra, type Client } from '../../lib/cassandra.ts';
import { engines } from '../../test/engines.ts';
import { CassandraDeviceTokenStore } from './device-token-store.cassandra.ts';
import { deviceTokenStoreContract, registration } from './device-token-store.contract.ts';

// Real Cassandra, never skipped: an unreachable node fails these tests. Users and tokens are fresh per run.
const connect = async () => connectCassandra((await engines('cassandra')).cassandra, { migrate: true });

deviceTokenStoreContract('cassandra', async () => {
  const client = await connect();
  return { store: new CassandraDeviceTokenStore(client), close: () => client.shutdown() };
});

describe('CassandraDeviceTokenStore', () => {
  let client: Client;
  let store: CassandraDeviceTokenStore;
  before(async () => {
    client = await connect();
    store = new CassandraDeviceTokenStore(client);
  });
  after(() => client.shutdown());
  const run = randomUUID().slice(0, 8);
  /** The device the token's index row names, if there is one. */
  const indexed = async (token: string) => {
    const row = (
      await client.execute('SELECT user_id, device FROM device_tokens_by_token WHERE platform = ? AND "token" = ?', [
        'apns',
        token,
      ])
    ).first();
    return row ? `${row.get('user_id') as string}/${row.get('device') as string}` : undefined;
  };

  it('leaves no index row behind a new token, a move, a logout or a dead token', async () => {
    const [ann, bob] = [`ann-${run}`, `bob-${run}`];
    const [a, b, c] = ['a', 'b', 'c'].map((t) => `tok-${t}-${run}`) as [string, string, string];
    await store.put(registration(ann, 'phone', a));
    assert.equal(await indexed(a), `${ann}/phone`);
    await store.put(registration(ann, 'phone', b));
    assert.equal(await indexed(a), undefined);
    assert.equal(await indexed(b), `${ann}/phone`);
    await store.put(registration(bob, 'phone', b));
    assert.equal(await indexed(b), `${bob}/phone`);
    await store.put(registration(ann, 'phone', c));
    // Ann's phone had no registration left to replace: Bob's index row for b stays.
    assert.equal(await indexed(b), `${bob}/phone`);
    assert.equal(await store.remove(bob, 'phone'), true);
    assert.equal(await indexed(b), undefined);
    assert.equal(await store.removeToken('apns', c), 1);
    assert.equal(await indexed(c), undefined);
  });

  it('drops an index row whose device holds the token no longer, removing nothing', async () => {
    const ann = `ann2-${run}`;
    const [a, b] = [`tok-a2-${run}`, `tok-b2-${run}`];
    await store.put(registration(ann, 'phone', a));
    // What a race of two registrations of one device can leave: an index row for a token the device replaced.
    await store.put(registration(ann, 'phone', b));
    await client.execute(
      'INSERT INTO device_tokens_by_token (platform, "token", user_id, device, updated_at_ms) VALUES (?, ?, ?, ?, ?)',
      ['apns', a, ann, 'phone', 1_000],
    );
    assert.equal(await store.removeToken('apns', a), 0);
    assert.equal(await indexed(a), undefined);
    assert.deepEqual((await store.ofUsers([ann])).get(ann), [registration(ann, 'phone', b)]);
  });
});
