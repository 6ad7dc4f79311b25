import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { closeDatabase } from '../lib/group-commit.ts';
import { newServerMsgId } from '../lib/ids.ts';
import { openSqlite } from '../lib/sqlite.ts';
import { databaseFiles, memoryDatabase } from '../test/sqlite.ts';
import { NO_SCOPES, searchIndexContract } from './search-index.contract.ts';
import { MiniSearchIndex } from './search-index.minisearch.ts';
import type { SearchDoc } from './search-index.ts';

const settle = () => Promise.resolve();

searchIndexContract('minisearch in memory', () =>
  Promise.resolve({ index: new MiniSearchIndex(), settle, close: () => Promise.resolve() }),
);

searchIndexContract('minisearch, every search through MiniSearch (no direct scan)', () =>
  Promise.resolve({ index: new MiniSearchIndex({ scanLimit: 0 }), settle, close: () => Promise.resolve() }),
);

searchIndexContract('minisearch in the data directory', () => {
  const { db, close } = memoryDatabase();
  return Promise.resolve({ index: new MiniSearchIndex({ db }), settle, close });
});

describe('MiniSearchIndex', () => {
  const files = databaseFiles('search-index-');
  const doc = (text: string, readers: string[]): SearchDoc => ({
    id: newServerMsgId(),
    conversation: 'dm:ann:bob',
    kind: 'dm',
    fromUser: 'ann',
    sentAtMs: 1_000,
    text,
    readers: readers.map((user, i) => ({ user, seq: i + 1 })),
  });
  const ids = async (index: MiniSearchIndex, user: string, text: string) =>
    (await index.search({ user, scopes: NO_SCOPES, text, order: 'newest', limit: 50 })).hits.map((h) => h.id);

  it('keeps its documents, edits and deletions across a restart (the file reopened)', async () => {
    const path = files();
    const db = openSqlite(path);
    const index = new MiniSearchIndex({ db });
    const [kept, edited, recalled, chunked] = [
      doc('kept 天气 message', ['ann', 'bob']),
      doc('edited before', ['ann', 'bob']),
      doc('recalled message', ['ann', 'bob']),
      doc('chunked notice', ['ann']),
    ];
    await index.apply([kept, edited, recalled, chunked].map((d) => ({ op: 'upsert', doc: d })));
    await index.apply([
      { op: 'edit', id: edited.id, text: 'edited after' },
      { op: 'delete', id: recalled.id },
      { op: 'upsert', doc: { ...chunked, readers: [{ user: 'cat', seq: 5 }] } },
    ]);
    closeDatabase(db);

    const reopenedDb = openSqlite(path);
    const reopened = new MiniSearchIndex({ db: reopenedDb });
    await reopened.ready;
    assert.equal(reopened.size, 3);
    assert.deepEqual(await ids(reopened, 'bob', '天气'), [kept.id]);
    assert.deepEqual(await ids(reopened, 'bob', 'after'), [edited.id]);
    assert.deepEqual(await ids(reopened, 'bob', 'before'), []);
    assert.deepEqual(await ids(reopened, 'bob', 'recalled'), []);
    assert.deepEqual(await ids(reopened, 'cat', 'chunked'), [chunked.id]);
    // The deletion is remembered: a replay of the recalled message's upsert stays out.
    await reopened.apply([{ op: 'upsert', doc: recalled }]);
    assert.deepEqual(await ids(reopened, 'bob', 'recalled'), []);
    closeDatabase(reopenedDb);
  });
});
