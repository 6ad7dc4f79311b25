import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { closeDatabase } from '../../lib/group-commit.ts';
import { openSqlite } from '../../lib/sqlite.ts';
import { databaseFiles, memoryDatabase } from '../../test/sqlite.ts';
import { deviceTokenStoreContract, registration } from './device-token-store.contract.ts';
import { SqliteDeviceTokenStore } from './device-token-store.sqlite.ts';

deviceTokenStoreContract('sqlite', () => {
  const { db, close } = memoryDatabase();
  return Promise.resolve({ store: new SqliteDeviceTokenStore(db), close });
});

describe('SqliteDeviceTokenStore', () => {
  const files = databaseFiles('device-token-store-');

  it('keeps registrations across a restart (the file reopened)', async () => {
    const path = files();
    const before = openSqlite(path);
    const store = new SqliteDeviceTokenStore(before);
    await store.put(registration('ann', 'phone', 'a'));
    await store.put(
      registration('ann', 'tablet', 'f', { platform: 'fcm', topic: '', previews: false, updatedAtMs: 2_000 }),
    );
    await store.put(registration('bob', 'phone', 'b', { environment: 'sandbox', locale: '' }));
    await store.put(registration('cat', 'phone', 'c'));
    await store.remove('cat', 'phone');
    closeDatabase(before);

    const db = openSqlite(path);
    const reopened = new SqliteDeviceTokenStore(db);
    const found = await reopened.ofUsers(['ann', 'bob', 'cat']);
    assert.deepEqual(
      found,
      new Map([
        [
          'ann',
          [
            registration('ann', 'phone', 'a'),
            registration('ann', 'tablet', 'f', { platform: 'fcm', topic: '', previews: false, updatedAtMs: 2_000 }),
          ],
        ],
        ['bob', [registration('bob', 'phone', 'b', { environment: 'sandbox', locale: '' })]],
      ]),
    );
    // The index by token came back too: a move and a dead token still find their device.
    await reopened.put(registration('cat', 'phone', 'a', { updatedAtMs: 3_000 }));
    assert.deepEqual((await reopened.ofUsers(['ann'])).get('ann'), [
      registration('ann', 'tablet', 'f', { platform: 'fcm', topic: '', previews: false, updatedAtMs: 2_000 }),
    ]);
    assert.equal(await reopened.removeToken('apns', 'b', 1_000), 1);
    assert.equal(await reopened.removeToken('apns', 'c'), 0);
    closeDatabase(db);
  });
});
