import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { closeDatabase, groupCommit } from '../../lib/group-commit.ts';
import { openSqlite } from '../../lib/sqlite.ts';
import { databaseFiles, memoryDatabase } from '../../test/sqlite.ts';
import { deadLetterStoreContract } from './dead-letter-store.contract.ts';
import { SqliteDeadLetterStore } from './dead-letter-store.sqlite.ts';
import { DEFAULT_DEAD_LETTER_CAPACITY, type DeadLetter } from './dead-letter-store.ts';

deadLetterStoreContract('sqlite', ({ capacity }) => {
  const { db, close } = memoryDatabase();
  return Promise.resolve({ store: new SqliteDeadLetterStore(db, capacity === undefined ? {} : { capacity }), close });
});

describe('SqliteDeadLetterStore', () => {
  const files = databaseFiles('dead-letter-store-');
  const letter = (id: string, fields: Partial<DeadLetter> = {}): DeadLetter => ({
    id,
    user: 'ann',
    device: 'phone',
    push: {
      id,
      target: { platform: 'apns', token: `tok-${id}`, topic: 'com.example.im', environment: 'production' },
      alert: { title: 'Ann', body: 'hello' },
      badge: 1,
      collapseId: 'c:ann:bob',
      priority: 'high',
      expireAtMs: 0,
      data: { conv: 'c:ann:bob' },
      sound: 'default',
    },
    reason: 'ServiceUnavailable',
    attempts: 5,
    atMs: 1_000,
    ...fields,
  });

  it('keeps dead letters across a restart (the file reopened), the oldest still first to go', async () => {
    const path = files();
    const before = openSqlite(path);
    const store = new SqliteDeadLetterStore(before, { capacity: 4 });
    const silent = letter('silent', {
      push: { ...letter('silent').push, alert: undefined, sound: undefined, data: {} },
      atMs: 2_000,
    });
    await store.add(letter('a', { atMs: 3_000 }));
    await store.add(silent);
    await store.add(letter('b', { atMs: 4_000, reason: 'BadGateway', attempts: 2 }));
    await store.add(letter('gone', { atMs: 5_000 }));
    await store.take(['gone']);
    closeDatabase(before);

    const db = openSqlite(path);
    const reopened = new SqliteDeadLetterStore(db, { capacity: 3 });
    // Stored without the alert and the sound it was given as undefined.
    const silentPush = { ...silent.push };
    delete silentPush.alert;
    delete silentPush.sound;
    assert.deepEqual(await reopened.list('', 10), {
      items: [
        letter('a', { atMs: 3_000 }),
        letter('b', { atMs: 4_000, reason: 'BadGateway', attempts: 2 }),
        { ...silent, push: silentPush },
      ],
    });
    // The index by age came back too: full, the oldest (silent, at 2,000) goes first.
    await reopened.add(letter('c', { atMs: 6_000 }));
    assert.deepEqual(
      (await reopened.list('', 10)).items.map((l) => l.id),
      ['a', 'b', 'c'],
    );
    assert.deepEqual(await reopened.take(['b', 'silent']), [
      letter('b', { atMs: 4_000, reason: 'BadGateway', attempts: 2 }),
    ]);
    closeDatabase(db);
  });

  it('takes a letter once when two takes ask for it at once', async () => {
    const { db, close } = memoryDatabase();
    const store = new SqliteDeadLetterStore(db);
    await store.add(letter('a'));
    const [first, second] = await Promise.all([store.take(['a']), store.take(['a'])]);
    assert.deepEqual([first, second], [[letter('a')], []]);
    await close();
  });

  it('shares the database and its group commit with the other stores: a write resolves once committed', async () => {
    const { db, close } = memoryDatabase();
    const store = new SqliteDeadLetterStore(db);
    const added = store.add(letter('a'));
    // Written in this turn's transaction, not yet committed.
    assert.equal(db.inTransaction, true);
    await added;
    assert.equal(db.inTransaction, false);
    await groupCommit(db).durable();
    await close();
  });

  it(`keeps ${DEFAULT_DEAD_LETTER_CAPACITY} by default`, async () => {
    const { db, close } = memoryDatabase();
    const store = new SqliteDeadLetterStore(db);
    const adds: Promise<void>[] = [];
    for (let i = 0; i <= DEFAULT_DEAD_LETTER_CAPACITY; i++)
      adds.push(store.add(letter(`id-${String(i).padStart(5, '0')}`, { atMs: i })));
    await Promise.all(adds);
    assert.equal((await store.list('', 1)).items[0]!.id, 'id-00001');
    assert.equal((await store.list('', DEFAULT_DEAD_LETTER_CAPACITY + 1)).items.length, DEFAULT_DEAD_LETTER_CAPACITY);
    await close();
  });
});
