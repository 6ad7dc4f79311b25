import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { closeDatabase } from '../../lib/group-commit.ts';
import { openSqlite } from '../../lib/sqlite.ts';
import { tagStoreContract } from './tag-store.contract.ts';
import { SqliteTagStore } from './tag-store.sqlite.ts';
import { databaseFiles, memoryDatabase } from '../../test/sqlite.ts';

tagStoreContract('sqlite', () => {
  const { db, close } = memoryDatabase();
  return Promise.resolve({ store: new SqliteTagStore(db), close });
});

describe('SqliteTagStore', () => {
  const files = databaseFiles('tag-store-');

  it('keeps tags across a restart (the file reopened)', async () => {
    const path = files();
    const before = openSqlite(path);
    const store = new SqliteTagStore(before);
    await store.tag('app_a', 'vip', ['ann', 'bob'], 1_000);
    await store.tag('app_b', 'beta', ['ann'], 2_000);
    await store.untag('app_a', 'vip', ['bob']);
    closeDatabase(before);

    const db = openSqlite(path);
    const reopened = new SqliteTagStore(db);
    assert.deepEqual(await reopened.tagsOf('ann'), [
      { appId: 'app_a', tag: 'vip', sinceMs: 1_000 },
      { appId: 'app_b', tag: 'beta', sinceMs: 2_000 },
    ]);
    assert.deepEqual(await reopened.tagsOf('bob'), []);
    assert.equal(await reopened.count('app_a', 'vip'), 1);
    assert.equal(await reopened.tag('app_a', 'vip', ['ann'], 3_000), 0);
    closeDatabase(db);
  });
});
