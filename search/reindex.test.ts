import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Message } from '../proto/gen/im/v1/message.pb.ts';
import { msg, stored } from './entries.fixture.ts';
import { SearchIndexer, type StoredEntry } from './indexing.ts';
import { reindex } from './reindex.ts';
import { NO_SCOPES } from './search-index.contract.ts';
import { MiniSearchIndex } from './search-index.minisearch.ts';
import { tombstone } from '../offline/index.ts';

const ID = (n: number) => `01JEXAMPLE00000000000000${String(n).padStart(2, '0')}`;
const ref = (serverMsgId: string) => ({ fromDevice: 'phone', clientMsgId: 'c1', serverMsgId });
const edit = (id: number, target: number, text: string): Message =>
  msg({ serverMsgId: ID(id), body: Buffer.from(text), op: { kind: { $case: 'edit', value: ref(ID(target)) } } });
const recall = (id: number, target: number): Message =>
  msg({ serverMsgId: ID(id), body: Buffer.alloc(0), op: { kind: { $case: 'recall', value: ref(ID(target)) } } });

/**
 * What three inbox writes store, as writes in the order they happened (the live indexer's input), and the same rows
 * as a store scans them: user by user, each user's in seq order, bob before ann.
 */
const original = msg({ serverMsgId: ID(1), body: Buffer.from('lunch at noon') });
const editOfIt = edit(2, 1, 'lunch at dusk');
const secondEdit = edit(3, 1, 'lunch at midnight');
const gone = msg({ serverMsgId: ID(4), body: Buffer.from('the zebra password') });
const writes: StoredEntry[][] = [
  stored(original, [
    ['ann', 1],
    ['bob', 1],
  ]),
  stored(gone, [
    ['ann', 2],
    ['bob', 2],
  ]),
  stored(editOfIt, [
    ['ann', 3],
    ['bob', 3],
  ]),
  stored(secondEdit, [
    ['ann', 4],
    ['bob', 4],
  ]),
  stored(recall(5, 4), [
    ['ann', 5],
    ['bob', 5],
  ]),
  stored(msg({ serverMsgId: ID(6), conversation: 'group:g1', body: Buffer.from('big group news') }), [['g:g1', 1]]),
];
/** The recalled message's rows are tombstones by now (InboxStore.redact). */
const scanned = ['bob', 'ann', 'g:g1'].flatMap((user) =>
  writes
    .flat()
    .filter((e) => e.user === user)
    .map((e) => (e.message!.serverMsgId === ID(4) ? { ...e, message: tombstone(e.message!) } : e)),
);

async function* rows(entries: readonly StoredEntry[]): AsyncIterable<StoredEntry> {
  for (const e of entries) yield await Promise.resolve(e);
}

async function hits(index: MiniSearchIndex, user: string, text: string): Promise<string[]> {
  const scopes = { ...NO_SCOPES, timelines: [{ conversation: 'group:g1', spans: [{}] }] };
  const page = await index.search({ user, scopes, text, order: 'newest', limit: 10 });
  return page.hits.map((h) => `${h.id.slice(-2)}:${h.snippet.text}`);
}

describe('reindex', () => {
  it('rebuilds from a scan in store order what live indexing built, edits last and in the order made', async () => {
    const live = new MiniSearchIndex();
    const indexer = new SearchIndexer(live);
    for (const write of writes) await indexer.handle(write);
    const rebuilt = new MiniSearchIndex();
    // Batches of 2: the edits of bob's inbox come in a batch before ann's copy of the original.
    const counts = await reindex(rows(scanned), rebuilt, { batch: 2 });
    assert.equal(counts.scanned, scanned.length);
    for (const [user, text] of [
      ['ann', 'lunch'],
      ['bob', 'midnight'],
      ['bob', 'noon'],
      ['bob', 'dusk'],
      ['ann', 'zebra'],
      ['bob', 'news'],
    ] as const) {
      assert.deepEqual(await hits(rebuilt, user, text), await hits(live, user, text), `${user} "${text}"`);
    }
    assert.deepEqual(await hits(rebuilt, 'ann', 'lunch'), ['01:lunch at midnight']);
    assert.deepEqual(await hits(rebuilt, 'ann', 'news'), ['06:big group news']);
  });

  it('changes nothing when run again over an index that has it all', async () => {
    const index = new MiniSearchIndex();
    await reindex(rows(scanned), index);
    const before = await hits(index, 'bob', 'lunch');
    await reindex(rows(scanned), index, { batch: 1 });
    assert.deepEqual(await hits(index, 'bob', 'lunch'), before);
    assert.deepEqual(await hits(index, 'bob', 'zebra'), []);
  });
});
