import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { closeDatabase } from '../../lib/group-commit.ts';
import { openSqlite } from '../../lib/sqlite.ts';
import { noticeStoreContract } from './notice-store.contract.ts';
import type { NoticeRecord } from './notice-store.ts';
import { SqliteNoticeStore } from './notice-store.sqlite.ts';
import { databaseFiles, memoryDatabase } from '../../test/sqlite.ts';

noticeStoreContract('sqlite', () => {
  const { db, close } = memoryDatabase();
  return Promise.resolve({ store: new SqliteNoticeStore(db), close });
});

describe('SqliteNoticeStore', () => {
  const files = databaseFiles('notice-store-');

  it('keeps notices, their states, chunks, counts and first delivery across a restart (the file reopened)', async () => {
    const path = files();
    const notice: NoticeRecord = {
      id: 'ntc_01jv0000000000000000000000',
      appId: 'app_0123456789abcdefghjk',
      messageId: 'order-1',
      target: { kind: 'users', users: ['ann', 'bob'] },
      content: {
        title: 'Shipped',
        body: 'Your order is on its way.',
        data: { order: '1' },
        imageUrl: '',
        sound: '',
        category: 'orders',
        collapseKey: '',
      },
      priority: 'high',
      createdAtMs: 1_000,
      deliverAtMs: 2_000,
      expireAtMs: 90_000,
      state: 'scheduled',
      serverMsgId: '01JV0000000000000000000001',
      firedAtMs: 0,
      cancelledAtMs: 0,
      claimOwner: '',
      claimUntilMs: 0,
      timelineSeq: 0,
    };
    const other = {
      ...notice,
      id: 'ntc_01jv0000000000000000000001',
      messageId: 'order-2',
      deliverAtMs: 3_000,
      expireAtMs: 95_000,
    };
    const before = openSqlite(path);
    const store = new SqliteNoticeStore(before);
    await store.create(notice);
    await store.create(other);
    await store.claim(notice.id, 'node-1', 2_000, 5_000);
    await store.markSent(notice.id, 2_100, 0);
    await store.putChunk(notice.id, 0, [
      { user: 'ann', seq: 7 },
      { user: 'bob', seq: 9 },
    ]);
    await store.addCounts(notice.id, { targeted: 2, stored: 2, delivered: 1 });
    await store.noteFirstDelivery(notice.id, 140);
    closeDatabase(before);

    const db = openSqlite(path);
    const reopened = new SqliteNoticeStore(db);
    const sent = { ...notice, state: 'sent', firedAtMs: 2_100, claimOwner: 'node-1', claimUntilMs: 5_000 };
    assert.deepEqual(await reopened.list(notice.appId, { after: '', limit: 10 }), { items: [sent, other] });
    assert.deepEqual(await reopened.create({ ...other, id: 'ntc_01jv0000000000000000000002' }), {
      record: other,
      created: false,
    });
    assert.deepEqual(await reopened.due(10_000, 10), [other]);
    assert.deepEqual(await reopened.expiring(90_000, 10), [sent]);
    assert.deepEqual(await reopened.chunks(notice.id), [
      [
        { user: 'ann', seq: 7 },
        { user: 'bob', seq: 9 },
      ],
    ]);
    assert.deepEqual(await reopened.counts(notice.id), { targeted: 2, stored: 2, delivered: 1, read: 0 });
    assert.equal(await reopened.firstDelivery(notice.id), 140);
    closeDatabase(db);
  });

  it('scans due and expiring notices by their partial indexes', () => {
    const db = openSqlite(':memory:');
    try {
      new SqliteNoticeStore(db);
      const plan = (sql: string) =>
        db
          .prepare<[], { detail: string }>(`EXPLAIN QUERY PLAN ${sql}`)
          .all()
          .map((r) => r.detail)
          .join('; ');
      assert.match(
        plan(
          `SELECT * FROM logic_notices WHERE state = 'scheduled' AND deliver_at_ms <= 5 ORDER BY deliver_at_ms, id LIMIT 10`,
        ),
        /USING INDEX logic_notices_scheduled/,
      );
      assert.match(
        plan(
          `SELECT * FROM logic_notices WHERE state = 'firing' AND claim_until_ms <= 5 ORDER BY deliver_at_ms, id LIMIT 10`,
        ),
        /USING INDEX logic_notices_firing/,
      );
      assert.match(
        plan(
          `SELECT * FROM logic_notices WHERE state IN ('scheduled', 'sent') AND expire_at_ms <= 5 ORDER BY expire_at_ms, id LIMIT 10`,
        ),
        /USING INDEX logic_notices_expiring/,
      );
    } finally {
      closeDatabase(db);
    }
  });
});
