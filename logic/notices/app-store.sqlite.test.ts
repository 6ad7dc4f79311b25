import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { closeDatabase } from '../../lib/group-commit.ts';
import { openSqlite } from '../../lib/sqlite.ts';
import { appStoreContract } from './app-store.contract.ts';
import { SqliteAppStore } from './app-store.sqlite.ts';
import { databaseFiles, memoryDatabase } from '../../test/sqlite.ts';

appStoreContract('sqlite', () => {
  const { db, close } = memoryDatabase();
  return Promise.resolve({ store: new SqliteAppStore(db), close });
});

describe('SqliteAppStore', () => {
  const files = databaseFiles('app-store-');

  it('keeps apps and revocations across a restart (the file reopened)', async () => {
    const path = files();
    const app = {
      id: 'app_0123456789abcdefghjk',
      name: 'billing',
      scopes: ['multicast' as const, 'read' as const],
      secret: 'c2VjcmV0',
      createdAtMs: 1_700_000_000_000,
      rateLimits: { requestsPerSecond: 5, recipientsPerSecond: 500 },
    };
    const other = { ...app, id: 'app_zzzzzzzzzzzzzzzzzzzz', name: 'crm' };
    const before = openSqlite(path);
    const store = new SqliteAppStore(before);
    await store.create(app);
    await store.create(other);
    await store.revoke(other.id, 42);
    closeDatabase(before);

    const db = openSqlite(path);
    const reopened = new SqliteAppStore(db);
    assert.deepEqual(await reopened.list({ after: '', limit: 10 }), {
      items: [app, { ...other, revokedAtMs: 42 }],
    });
    closeDatabase(db);
  });
});
