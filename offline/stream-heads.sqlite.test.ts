import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { openSqlite } from '../lib/sqlite.ts';
import { streamHeadsContract } from './stream-heads.contract.ts';
import { SqliteStreamHeads } from './stream-heads.sqlite.ts';
import { closeDatabase } from '../lib/group-commit.ts';
import { databaseFiles, memoryDatabase } from '../test/sqlite.ts';

streamHeadsContract('sqlite', () => {
  const { db, close } = memoryDatabase();
  return Promise.resolve({ heads: new SqliteStreamHeads(db), close });
});

describe('SqliteStreamHeads', () => {
  const files = databaseFiles('im-heads-');

  it('reads back every head after the database file is closed and reopened', async () => {
    const file = files();
    let db = openSqlite(file);
    await new SqliteStreamHeads(db).advance([
      { stream: 'g:a', seq: 5, index: 4 },
      { stream: 'g:b', seq: 2 ** 33 + 1, index: 9 },
    ]);
    closeDatabase(db);
    db = openSqlite(file);
    const heads = new SqliteStreamHeads(db);
    assert.deepEqual(await heads.heads(['g:a', 'g:b', 'g:c']), [
      { seq: 5, index: 4 },
      { seq: 2 ** 33 + 1, index: 9 },
      { seq: 0, index: 0 },
    ]);
    await heads.advance([{ stream: 'g:a', seq: 3, index: 1 }]);
    assert.deepEqual(await heads.heads(['g:a']), [{ seq: 5, index: 4 }]);
    closeDatabase(db);
  });
});
