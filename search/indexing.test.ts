import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Notice } from '../proto/gen/im/v1/message.pb.ts';
import { msg, SENT, stored } from './entries.fixture.ts';
import { registry } from '../lib/metrics.ts';
import { indexOpsOf, isEndToEndEncrypted, SearchIndexer } from './indexing.ts';
import { NO_SCOPES } from './search-index.contract.ts';
import { MiniSearchIndex } from './search-index.minisearch.ts';

function notice(fields: Partial<Notice>): Notice {
  return {
    noticeId: 'ntc_1',
    appId: 'shop',
    title: 'Sale',
    body: 'everything half price',
    data: {},
    imageUrl: '',
    sound: '',
    category: '',
    collapseKey: '',
    priority: 'normal',
    expireAtMs: 0,
    audience: 'users',
    ...fields,
  };
}

const ref = (serverMsgId: string) => ({ fromDevice: 'phone', clientMsgId: 'c1', serverMsgId });

describe('indexOpsOf', () => {
  it('upserts a 1:1 message once, with each recipient and their own inbox seq', () => {
    const ops = indexOpsOf(
      stored(msg({}), [
        ['ann', 11],
        ['bob', 42],
      ]),
    );
    assert.deepEqual(ops, [
      {
        op: 'upsert',
        doc: {
          id: '01JEXAMPLE0000000000000001',
          conversation: 'dm:ann:bob',
          kind: 'dm',
          fromUser: 'ann',
          sentAtMs: SENT,
          text: 'hello harbour',
          readers: [
            { user: 'ann', seq: 11 },
            { user: 'bob', seq: 42 },
          ],
        },
      },
    ]);
  });

  it("makes a large group's timeline entry a timeline document, and a small group's one with readers", () => {
    const large = indexOpsOf(stored(msg({ conversation: 'group:g1', stream: 'group:g1' }), [['g:g1', 7]]));
    assert.equal(large[0]?.op, 'upsert');
    const doc = large[0].op === 'upsert' ? large[0].doc : undefined;
    assert.deepEqual(doc?.timeline, { stream: 'group:g1', seq: 7 });
    assert.deepEqual(doc?.readers, []);
    assert.equal(doc?.kind, 'group');
    const small = indexOpsOf(
      stored(msg({ conversation: 'group:g2' }), [
        ['ann', 1],
        ['bob', 2],
        ['cat', 3],
      ]),
    );
    assert.equal(small[0]!.op === 'upsert' && small[0]!.doc.readers.length, 3);
  });

  it('indexes notices: listed users as readers, everyone or a tag on the system timeline, with the expiry', () => {
    const toUsers = msg({ conversation: 'system', contentType: 'application/vnd.im.notice', body: Buffer.alloc(0) });
    const listed = indexOpsOf(stored({ ...toUsers, notice: notice({ expireAtMs: SENT + 60_000 }) }, [['bob', 3]]));
    assert.deepEqual(listed[0]!.op === 'upsert' && listed[0]!.doc, {
      id: toUsers.serverMsgId,
      conversation: 'system',
      kind: 'notice',
      fromUser: 'ann',
      sentAtMs: SENT,
      text: 'Sale\neverything half price',
      readers: [{ user: 'bob', seq: 3 }],
      notice: { appId: 'shop', audience: 'users', expireAtMs: SENT + 60_000 },
    });
    const toAll = { ...toUsers, stream: 'system', notice: notice({ audience: 'all' }) };
    const shared = indexOpsOf(stored(toAll, [['s:system', 9]]));
    assert.deepEqual(shared[0]!.op === 'upsert' && shared[0]!.doc.timeline, { stream: 'system', seq: 9 });
    assert.deepEqual(indexOpsOf(stored(toAll, [['s:system', 9]]), { notices: false }), []);
  });

  it('re-indexes an edit for the users it reached, and deletes on a recall or a tombstone', () => {
    const original = '01JEXAMPLE0000000000000001';
    const edit = msg({
      serverMsgId: 'e1',
      body: Buffer.from('new text'),
      op: { kind: { $case: 'edit', value: ref(original) } },
    });
    assert.deepEqual(
      indexOpsOf(
        stored(edit, [
          ['ann', 5],
          ['bob', 6],
        ]),
      ),
      [{ op: 'edit', id: original, text: 'new text', readers: ['ann', 'bob'] }],
    );
    assert.deepEqual(indexOpsOf(stored({ ...edit, conversation: 'group:g1' }, [['g:g1', 8]])), [
      { op: 'edit', id: original, text: 'new text' },
    ]);
    const encrypted = { ...edit, contentType: 'application/x-e2e' };
    assert.deepEqual(indexOpsOf(stored(encrypted, [['ann', 5]])), [{ op: 'delete', id: original }]);
    const recall = msg({
      serverMsgId: 'r1',
      body: Buffer.alloc(0),
      op: { kind: { $case: 'recall', value: ref(original) } },
    });
    assert.deepEqual(
      indexOpsOf(
        stored(recall, [
          ['ann', 7],
          ['bob', 8],
        ]),
      ),
      [{ op: 'delete', id: original }],
    );
    assert.deepEqual(indexOpsOf(stored(msg({ recalled: true, body: Buffer.alloc(0) }), [['bob', 1]])), [
      { op: 'delete', id: original },
    ]);
  });

  it('never indexes end-to-end ciphertext, other content types, read markers or mutes', () => {
    assert.equal(isEndToEndEncrypted('application/x-e2e'), true);
    assert.equal(isEndToEndEncrypted('Application/X-E2E+sealed'), true);
    const e2e = msg({ contentType: 'application/x-e2e', body: Buffer.from('ciphertext') });
    assert.deepEqual(indexOpsOf(stored(e2e, [['bob', 1]])), []);
    // Even when a deployment lists it as indexable: the switch cannot be turned on for ciphertext.
    assert.deepEqual(indexOpsOf(stored(e2e, [['bob', 1]]), { indexable: new Set(['application/x-e2e']) }), []);
    assert.deepEqual(indexOpsOf(stored(msg({ contentType: 'image/png' }), [['bob', 1]])), []);
    const read = msg({
      op: { kind: { $case: 'read', value: { conversation: 'dm:ann:bob', seq: 1, stream: 'inbox', unread: 0 } } },
    });
    const mute = msg({ op: { kind: { $case: 'mute', value: { conversation: 'dm:ann:bob', untilMs: 1 } } } });
    assert.deepEqual(indexOpsOf([...stored(read, [['ann', 2]]), ...stored(mute, [['ann', 3]])]), []);
  });

  it('maps a replayed batch to the same ops, and several messages of one write each to their own', () => {
    const a = msg({ serverMsgId: 'a' });
    const b = msg({ serverMsgId: 'b', body: Buffer.from('second') });
    const batch = [
      ...stored(a, [
        ['ann', 1],
        ['bob', 2],
      ]),
      ...stored(b, [
        ['ann', 3],
        ['bob', 4],
      ]),
    ];
    const ops = indexOpsOf(batch);
    assert.deepEqual(
      ops.map((op) => op.op === 'upsert' && op.doc.id),
      ['a', 'b'],
    );
    assert.deepEqual(indexOpsOf(batch), ops);
  });
});

describe('SearchIndexer', () => {
  it('makes what is stored searchable, edits and recalls included, a replay changing nothing, and records the lag', async () => {
    const index = new MiniSearchIndex();
    const indexer = new SearchIndexer(index, {}, () => SENT + 1_500);
    const search = async (user: string, text: string) =>
      (await index.search({ user, scopes: NO_SCOPES, text, order: 'newest', limit: 10 })).hits.map((h) => [
        h.id,
        h.seq,
      ]);
    const original = msg({ serverMsgId: '01JEXAMPLE0000000000000001', body: Buffer.from('今天天气很好 harbour') });
    const secret = msg({
      serverMsgId: '01JEXAMPLE0000000000000002',
      contentType: 'application/x-e2e',
      body: Buffer.from('harbour'),
    });
    const batch = [
      ...stored(original, [
        ['ann', 1],
        ['bob', 2],
      ]),
      ...stored(secret, [
        ['ann', 3],
        ['bob', 4],
      ]),
    ];
    await indexer.handle(batch);
    await indexer.handle(batch);
    assert.deepEqual(await search('bob', 'harbour'), [[original.serverMsgId, 2]]);
    assert.deepEqual(await search('bob', '天气'), [[original.serverMsgId, 2]]);
    assert.deepEqual(await search('cat', 'harbour'), []);
    const edit = msg({
      serverMsgId: 'e1',
      body: Buffer.from('museum'),
      op: { kind: { $case: 'edit', value: ref(original.serverMsgId) } },
    });
    await indexer.handle(
      stored(edit, [
        ['ann', 5],
        ['bob', 6],
      ]),
    );
    assert.deepEqual(await search('bob', 'harbour'), []);
    assert.deepEqual(await search('bob', 'museum'), [[original.serverMsgId, 2]]);
    const recall = msg({
      serverMsgId: 'r1',
      body: Buffer.alloc(0),
      op: { kind: { $case: 'recall', value: ref(original.serverMsgId) } },
    });
    await indexer.handle(
      stored(recall, [
        ['ann', 7],
        ['bob', 8],
      ]),
    );
    // A replay of everything, in order, after a crash: the same end state.
    await indexer.handle([
      ...batch,
      ...stored(edit, [
        ['ann', 5],
        ['bob', 6],
      ]),
      ...stored(recall, [
        ['ann', 7],
        ['bob', 8],
      ]),
    ]);
    assert.deepEqual(await search('bob', 'museum'), []);
    assert.deepEqual(await search('ann', 'harbour'), []);
    const lag = await registry.getSingleMetric('im_search_index_lag_seconds')!.get();
    const count = lag.values.find(
      (v) => 'metricName' in v && v.metricName === 'im_search_index_lag_seconds_count' && v.labels.op === 'upsert',
    );
    assert.ok(count && count.value >= 2);
    const behind = await registry.getSingleMetric('im_search_index_behind_seconds')!.get();
    assert.equal(behind.values[0]?.value, 1.5);
  });
});
