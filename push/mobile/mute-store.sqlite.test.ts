import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { closeDatabase } from '../../lib/group-commit.ts';
import { openSqlite } from '../../lib/sqlite.ts';
import { databaseFiles, memoryDatabase } from '../../test/sqlite.ts';
import { muteStoreContract } from './mute-store.contract.ts';
import { SqliteMuteStore } from './mute-store.sqlite.ts';
import { MUTED_FOREVER } from './mute-store.ts';

muteStoreContract('sqlite', () => {
  const { db, close } = memoryDatabase();
  return Promise.resolve({ store: new SqliteMuteStore(db), close });
});

describe('SqliteMuteStore', () => {
  const files = databaseFiles('mute-store-');

  it('keeps mutes across a restart (the file reopened)', async () => {
    const path = files();
    const before = openSqlite(path);
    const store = new SqliteMuteStore(before);
    await store.set('ann', 'g:2', MUTED_FOREVER);
    await store.set('ann', 'g:1', 5_000);
    await store.set('ann', 'g:3', 9_000);
    await store.set('ann', 'g:3', 0);
    await store.set('bob', 'g:1', 1_500);
    closeDatabase(before);

    const db = openSqlite(path);
    const reopened = new SqliteMuteStore(db);
    assert.deepEqual(await reopened.ofUser('ann', 1_000), [
      { conversation: 'g:1', untilMs: 5_000 },
      { conversation: 'g:2', untilMs: MUTED_FOREVER },
    ]);
    assert.deepEqual(
      await reopened.mutedOf(
        [
          { user: 'bob', conversation: 'g:1' },
          { user: 'ann', conversation: 'g:3' },
          { user: 'ann', conversation: 'g:1' },
          { user: 'bob', conversation: 'g:1' },
        ],
        1_000,
      ),
      [true, false, true, true],
    );
    assert.deepEqual(await reopened.ofUser('bob', 2_000), []);
    // Writes go on after the reopen.
    await reopened.set('ann', 'g:1', 0);
    assert.deepEqual(await reopened.ofUser('ann', 1_000), [{ conversation: 'g:2', untilMs: MUTED_FOREVER }]);
    closeDatabase(db);
  });
});
