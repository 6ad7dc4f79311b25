import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { closeDatabase } from '../../lib/group-commit.ts';
import { openSqlite } from '../../lib/sqlite.ts';
import { databaseFiles, memoryDatabase } from '../../test/sqlite.ts';
import { revocationStoreContract } from './revocation-store.contract.ts';
import { SqliteRevocationStore } from './revocation-store.sqlite.ts';

revocationStoreContract('sqlite', () => {
  const { db, close } = memoryDatabase();
  return Promise.resolve({ store: new SqliteRevocationStore(db), close });
});

describe('SqliteRevocationStore', () => {
  const files = databaseFiles('revocations-');

  it('keeps revocations across a restart (the file reopened)', async () => {
    const path = files();
    const before = openSqlite(path);
    await new SqliteRevocationStore(before).revoke({ user: 'ann', device: 'phone', atMs: 1_000 }, 10_000);
    closeDatabase(before);
    const db = openSqlite(path);
    assert.deepEqual(await new SqliteRevocationStore(db).active(2_000), [
      { user: 'ann', device: 'phone', atMs: 1_000 },
    ]);
    closeDatabase(db);
  });
});
