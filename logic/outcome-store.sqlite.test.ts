import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { openSqlite } from '../lib/sqlite.ts';
import { SendOutcome } from '../proto/gen/im/v1/store.pb.ts';
import { outcomeStoreContract } from './outcome-store.contract.ts';
import { SqliteOutcomeStore } from './outcome-store.sqlite.ts';
import { closeDatabase } from '../lib/group-commit.ts';
import { databaseFiles, memoryDatabase } from '../test/sqlite.ts';

outcomeStoreContract('sqlite', () => {
  const { db, close } = memoryDatabase();
  return Promise.resolve({ store: new SqliteOutcomeStore(db), close });
});

describe('SqliteOutcomeStore', () => {
  const files = databaseFiles('outcome-store-');

  it('keeps outcomes, their done mark and their expiry across a restart (the file reopened)', async () => {
    const path = files();
    let now = 1_000_000;
    const clock = () => now;
    const outcome = SendOutcome.create({
      message: { serverMsgId: 's1', conversation: 'dm:a:b', body: Buffer.from([0, 255, 10]) },
      recipients: [{ user: 'a', seq: 2 ** 40 + 1 }],
    });
    const before = openSqlite(path);
    const store = new SqliteOutcomeStore(before, clock);
    await store.putIfAbsent('done', outcome, 10_000);
    await store.markDone('done', 10_000);
    await store.putIfAbsent('short', outcome, 1_000);
    closeDatabase(before);

    const db = openSqlite(path);
    const reopened = new SqliteOutcomeStore(db, clock);
    assert.deepEqual(await reopened.get('done'), { ...outcome, done: true });
    assert.deepEqual(await reopened.get('short'), outcome);
    now += 5_000;
    assert.equal(await reopened.get('short'), undefined);
    assert.equal((await reopened.putIfAbsent('done', SendOutcome.create({}), 10_000)).message?.serverMsgId, 's1');
    closeDatabase(db);
  });
});
