import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { closeDatabase } from '../../lib/group-commit.ts';
import { openSqlite } from '../../lib/sqlite.ts';
import { nonceStoreContract } from './nonce-store.contract.ts';
import { SqliteNonceStore } from './nonce-store.sqlite.ts';
import { databaseFiles, memoryDatabase } from '../../test/sqlite.ts';

nonceStoreContract('sqlite', () => {
  const { db, close } = memoryDatabase();
  return Promise.resolve({ store: new SqliteNonceStore(db), close });
});

describe('SqliteNonceStore', () => {
  const files = databaseFiles('im-nonces-');

  it('still refuses a nonce after the database file is closed and reopened', async () => {
    const file = files();
    let db = openSqlite(file);
    assert.equal(await new SqliteNonceStore(db).seen('app', 'n'.repeat(16), 60_000), false);
    closeDatabase(db);
    db = openSqlite(file);
    assert.equal(await new SqliteNonceStore(db).seen('app', 'n'.repeat(16), 60_000), true);
    closeDatabase(db);
  });

  it('sweeps expired rows in bounded batches as calls go on', async () => {
    let now = 1_000_000;
    const db = openSqlite(':memory:');
    try {
      const store = new SqliteNonceStore(db, () => now);
      const seenAll = (from: number, to: number, name: string, ttlMs: number) =>
        Promise.all(
          Array.from({ length: to - from }, (_, i) => store.seen('app', `${name}-${from + i}`.padEnd(16, '_'), ttlMs)),
        );
      await seenAll(0, 1_000, 'old', 1_000);
      now += 1_000;
      const rows = () => db.prepare<[], { n: number }>('SELECT count(*) AS n FROM logic_notice_nonces').get()!.n;
      // 64 calls make one sweep of at most 128 rows: bounded, and ahead of the inserts.
      await seenAll(0, 64, 'new', 60_000);
      assert.equal(rows(), 1_000 + 64 - 128);
      await seenAll(64, 64 * 20, 'new', 60_000);
      assert.equal(rows(), 64 * 20);
    } finally {
      closeDatabase(db);
    }
  });
});
