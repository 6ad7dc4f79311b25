import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { closeDatabase } from '../../lib/group-commit.ts';
import { openSqlite } from '../../lib/sqlite.ts';
import { databaseFiles, memoryDatabase } from '../../test/sqlite.ts';
import { keyDirectoryContract } from './key-directory.contract.ts';
import { SqliteKeyDirectory } from './key-directory.sqlite.ts';

keyDirectoryContract('sqlite', () => {
  const { db, close } = memoryDatabase();
  return Promise.resolve({ store: new SqliteKeyDirectory(db), close });
});

describe('SqliteKeyDirectory', () => {
  const files = databaseFiles('key-directory-');
  const bytes = (n: number) => new Uint8Array(randomBytes(n));

  it('keeps keys, what was claimed and the fallback count across a restart (the file reopened)', async () => {
    const path = files();
    const keys = {
      identityKey: bytes(32),
      signedPrekey: { id: 1, publicKey: bytes(32), signature: bytes(64) },
      fallbackKey: { id: 2, publicKey: bytes(32), signature: bytes(64) },
    };
    const before = openSqlite(path);
    const store = new SqliteKeyDirectory(before);
    await store.replace('ann', 'phone', keys, [
      { id: 1, publicKey: bytes(32) },
      { id: 2, publicKey: bytes(32) },
    ]);
    await store.claim('ann', 'phone');
    closeDatabase(before);

    const db = openSqlite(path);
    const reopened = new SqliteKeyDirectory(db);
    assert.deepEqual(await reopened.devicesOf('ann'), [{ device: 'phone', ...keys }]);
    const second = await reopened.claim('ann', 'phone');
    assert.ok(second && 'oneTimeKey' in second && second.oneTimeKey.id === 2);
    assert.deepEqual(await reopened.claim('ann', 'phone'), { fallbackKey: keys.fallbackKey, fallbackClaims: 1 });
    closeDatabase(db);
    const again = openSqlite(path);
    assert.deepEqual(await new SqliteKeyDirectory(again).update('ann', 'phone', { oneTimeKeys: [] }, 500), {
      oneTimeKeys: 0,
      fallbackClaims: 1,
    });
    closeDatabase(again);
  });
});
