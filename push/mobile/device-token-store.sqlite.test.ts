import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { closeDatabase } from '../../lib/group-commit.ts';
import { openSqlite } from '../../lib/sqlite.ts';
import { databaseFiles, memoryDatabase } from '../../test/sqlite.ts';
import { deviceTokenStoreContract } from './device-token-store.contract.ts';
import { SqliteDeviceTokenStore } from './device-token-store.sqlite.ts';
import type { DeviceToken } from './device-token-store.ts';

deviceTokenStoreContract('sqlite', () => {
  const { db, close } = memoryDatabase();
  return Promise.resolve({ store: new SqliteDeviceTokenStore(db), close });
});

describe('SqliteDeviceTokenStore', () => {
  const files = databaseFiles('device-token-store-');
  const reg = (user: string, device: string, token: string, fields: Partial<DeviceToken> = {}): DeviceToken => ({
    user,
    device,
    platform: 'apns',
    token,
    topic: 'com.example.im',
    environment: 'production',
    locale: 'en-US',
    previews: true,
    updatedAtMs: 1_000,
    ...fields,
  });

  it('keeps registrations across a restart (the file reopened)', async () => {
    const path = files();
    const before = openSqlite(path);
    const store = new SqliteDeviceTokenStore(before);
    await store.put(reg('ann', 'phone', 'a'));
    await store.put(reg('ann', 'tablet', 'f', { platform: 'fcm', topic: '', previews: false, updatedAtMs: 2_000 }));
    await store.put(reg('bob', 'phone', 'b', { environment: 'sandbox', locale: '' }));
    await store.put(reg('cat', 'phone', 'c'));
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
            reg('ann', 'phone', 'a'),
            reg('ann', 'tablet', 'f', { platform: 'fcm', topic: '', previews: false, updatedAtMs: 2_000 }),
          ],
        ],
        ['bob', [reg('bob', 'phone', 'b', { environment: 'sandbox', locale: '' })]],
      ]),
    );
    // The index by token came back too: a move and a dead token still find their device.
    await reopened.put(reg('cat', 'phone', 'a', { updatedAtMs: 3_000 }));
    assert.deepEqual((await reopened.ofUsers(['ann'])).get('ann'), [
      reg('ann', 'tablet', 'f', { platform: 'fcm', topic: '', previews: false, updatedAtMs: 2_000 }),
    ]);
    assert.equal(await reopened.removeToken('apns', 'b', 1_000), 1);
    assert.equal(await reopened.removeToken('apns', 'c'), 0);
    closeDatabase(db);
  });
});
