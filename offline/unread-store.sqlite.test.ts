import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { openSqlite } from '../lib/sqlite.ts';
import { unreadStoreContract } from './unread-store.contract.ts';
import { SqliteUnreadStore } from './unread-store.sqlite.ts';
import { closeDatabase } from '../lib/group-commit.ts';
import { databaseFiles, memoryDatabase } from '../test/sqlite.ts';

unreadStoreContract('sqlite', () => {
  const { db, close } = memoryDatabase();
  return Promise.resolve({ store: new SqliteUnreadStore(db, { maxPerConversation: 5 }), close });
});

describe('SqliteUnreadStore', () => {
  const files = databaseFiles('im-unread-');

  it('reads back counts, markers and timeline markers after the database file is closed and reopened', async () => {
    const file = files();
    let db = openSqlite(file);
    let store = new SqliteUnreadStore(db, { maxPerConversation: 5 });
    await store.arrived(Array.from({ length: 8 }, (_, i) => ({ user: 'u', conversation: 'dm:a:u', seq: i + 1 })));
    await store.arrived([3, 4, 5].map((seq) => ({ user: 'u', conversation: 'group:g', seq })));
    await store.recalled([{ user: 'u', conversation: 'group:g', seq: 4 }]);
    assert.equal(await store.markRead({ user: 'u', conversation: 'dm:a:u', seq: 6 }), 2);
    await store.markTimelineRead({ user: 'u', conversation: 'group:big', index: 2 ** 33 });
    closeDatabase(db);

    db = openSqlite(file);
    store = new SqliteUnreadStore(db, { maxPerConversation: 5 });
    assert.deepEqual(await store.unread('u'), [
      { conversation: 'dm:a:u', unread: 2, readSeq: 6 },
      { conversation: 'group:g', unread: 2, readSeq: 0 },
    ]);
    assert.deepEqual(await store.timelineMarks('u', ['group:big']), [2 ** 33]);
    // The cap still holds on the counts kept before the restart.
    await store.arrived([9, 10, 11, 12].map((seq) => ({ user: 'u', conversation: 'dm:a:u', seq })));
    assert.equal(await store.markRead({ user: 'u', conversation: 'dm:a:u', seq: 6 }), 5);
    closeDatabase(db);
  });
});
