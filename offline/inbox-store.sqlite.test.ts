import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { openSqlite } from '../lib/sqlite.ts';
import { message } from '../test/fixtures.ts';
import { inboxStoreContract } from './inbox-store.contract.ts';
import { SqliteInboxStore } from './inbox-store.sqlite.ts';
import { closeDatabase } from '../lib/group-commit.ts';
import { databaseFiles, memoryDatabase } from '../test/sqlite.ts';

inboxStoreContract('sqlite', () => {
  const { db, close } = memoryDatabase();
  return Promise.resolve({ store: new SqliteInboxStore(db), close });
});

describe('SqliteInboxStore', () => {
  const files = databaseFiles('im-inbox-');

  const seqsOf = (page: { messages: { seq: number }[] }) => page.messages.map((m) => m.seq);

  it('keeps the newest entries per user, reports the highest dropped seq, and ignores writes below it', async () => {
    const db = openSqlite(':memory:');
    const store = new SqliteInboxStore(db, { retainedPerUser: 3 });
    await store.write([5, 1, 4, 2].map((seq) => ({ user: 'a', message: message(seq) })));
    await store.write([{ user: 'b', message: message(1) }]);
    let page = await store.read('a', 0, 10);
    assert.deepEqual(seqsOf(page), [2, 4, 5]);
    assert.equal(page.floorSeq, 1);
    await store.write([{ user: 'a', message: message(1, 'late') }]);
    await store.write([{ user: 'a', message: message(4, 'again') }]);
    await store.write([8, 9].map((seq) => ({ user: 'a', message: message(seq) })));
    page = await store.read('a', 0, 10);
    assert.deepEqual(seqsOf(page), [5, 8, 9]);
    assert.equal(page.floorSeq, 4);
    assert.equal((await store.read('b', 0, 10)).floorSeq, 0);
    closeDatabase(db);
  });

  it('keeps the last of several writes of one seq', async () => {
    const db = openSqlite(':memory:');
    const store = new SqliteInboxStore(db);
    await store.write([
      { user: 'a', message: message(7, 'first') },
      { user: 'a', message: message(7, 'second') },
    ]);
    const page = await store.read('a', 0, 10);
    assert.deepEqual(
      page.messages.map((m) => Buffer.from(m.body).toString()),
      ['second'],
    );
    closeDatabase(db);
  });

  it('reads back entries, tombstones, the floor and cursors after the database file is closed and reopened', async () => {
    const file = files();
    let db = openSqlite(file);
    let store = new SqliteInboxStore(db, { retainedPerUser: 3 });
    await store.write([1, 2, 3, 2 ** 32 + 1].map((seq) => ({ user: 'a', message: message(seq) })));
    await store.redact([{ user: 'a', seq: 3 }]);
    await store.ack('a', 'phone', 3);
    const before = await store.readEncoded('a', 0, 10);
    closeDatabase(db);

    db = openSqlite(file);
    store = new SqliteInboxStore(db, { retainedPerUser: 3 });
    const after = await store.readEncoded('a', 0, 10);
    assert.deepEqual(after, before);
    assert.deepEqual(after.seqs, [2, 3, 2 ** 32 + 1]);
    assert.equal(after.floorSeq, 1);
    assert.equal((await store.read('a', 2, 1)).messages[0]!.recalled, true);
    assert.equal(await store.cursor('a', 'phone'), 3);
    await store.ack('a', 'phone', 2);
    assert.equal(await store.cursor('a', 'phone'), 3);
    // Retention goes on from the counts kept before the restart.
    await store.write([{ user: 'a', message: message(2 ** 32 + 2) }]);
    assert.deepEqual((await store.readEncoded('a', 0, 10)).seqs, [3, 2 ** 32 + 1, 2 ** 32 + 2]);
    closeDatabase(db);
  });
});
