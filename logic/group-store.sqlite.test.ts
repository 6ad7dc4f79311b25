import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { openSqlite } from '../lib/sqlite.ts';
import { groupStoreContract } from './group-store.contract.ts';
import { SqliteGroupStore } from './group-store.sqlite.ts';
import { closeDatabase } from '../lib/group-commit.ts';
import { databaseFiles, memoryDatabase } from '../test/sqlite.ts';

groupStoreContract('sqlite', () => {
  const { db, close } = memoryDatabase();
  return Promise.resolve({ store: new SqliteGroupStore(db), close });
});

describe('SqliteGroupStore', () => {
  const files = databaseFiles('group-store-');

  it('keeps groups, members, roles and dissolves across a restart (the file reopened)', async () => {
    const path = files();
    const [g1, g2] = [
      { id: 'g1', name: 'team', owner: 'ann', createdAtMs: 1_700_000_000_000 },
      { id: 'g2', name: 'gone', owner: 'ann', createdAtMs: 1_700_000_000_001 },
    ];
    const before = openSqlite(path);
    const store = new SqliteGroupStore(before);
    await store.create(g1, ['ann', 'bob', 'cat']);
    await store.create(g2, ['ann', 'bob']);
    await store.setRole('g1', 'bob', 'admin');
    await store.removeMembers('g1', ['cat']);
    await store.dissolve('g2', 5);
    closeDatabase(before);

    const db = openSqlite(path);
    const reopened = new SqliteGroupStore(db);
    assert.deepEqual(await reopened.get('g1'), g1);
    assert.deepEqual(await reopened.get('g2'), { ...g2, dissolvedAtMs: 5 });
    assert.deepEqual(await reopened.listMembers('g1', { after: '', limit: 10 }), {
      items: [
        { user: 'ann', role: 'owner' },
        { user: 'bob', role: 'admin' },
      ],
    });
    assert.equal(await reopened.count('g1'), 2);
    assert.deepEqual(await reopened.groupIdsOf('bob', { after: '', limit: 10 }), { items: ['g1'] });
    closeDatabase(db);
  });
});
