import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Message } from '../proto/gen/im/v1/message.pb.ts';
import { message } from '../test/fixtures.ts';
import type { InboxStore } from './inbox-store.ts';

/**
 * The behaviour every InboxStore adapter promises. `scanPageSize`: a scan's page in the scan test, small to cross
 * pages; an engine shared with every other test (a whole table to scan) takes a larger one.
 */
export function inboxStoreContract(
  adapter: string,
  setup: () => Promise<{ store: InboxStore; close: () => Promise<void> }>,
  scanPageSize = 2,
): void {
  describe(`InboxStore contract: ${adapter}`, () => {
    let store: InboxStore;
    let close: () => Promise<void>;
    before(async () => ({ store, close } = await setup()));
    after(() => close());
    const user = () => `u-${randomUUID().slice(0, 8)}`;

    it('reads back what was written, ascending by seq, whatever the write order', async () => {
      const u = user();
      await store.write([3, 1, 2].map((seq) => ({ user: u, message: message(seq) })));
      const page = await store.read(u, 0, 10);
      assert.deepEqual(
        page.messages.map((m) => m.seq),
        [1, 2, 3],
      );
      assert.equal(Buffer.from(page.messages[1]!.body).toString(), 'm2');
      assert.equal(page.hasMore, false);
    });

    it('keeps one row when the same entry is written twice', async () => {
      const u = user();
      await store.write([{ user: u, message: message(1) }]);
      await store.write([{ user: u, message: message(1) }]);
      assert.equal((await store.read(u, 0, 10)).messages.length, 1);
    });

    it('pages with afterSeq, limit and hasMore, and stops before beforeSeq', async () => {
      const u = user();
      await store.write([1, 2, 3, 5, 8].map((seq) => ({ user: u, message: message(seq) })));
      const first = await store.read(u, 0, 2);
      assert.deepEqual(
        first.messages.map((m) => m.seq),
        [1, 2],
      );
      assert.equal(first.hasMore, true);
      const rest = await store.read(u, 2, 10);
      assert.deepEqual(
        rest.messages.map((m) => m.seq),
        [3, 5, 8],
      );
      assert.equal(rest.hasMore, false);
      const bounded = await store.read(u, 2, 10, 8);
      assert.deepEqual(
        bounded.messages.map((m) => m.seq),
        [3, 5],
      );
      assert.equal(bounded.hasMore, false);
    });

    it('reads the same pages encoded: the stored bytes of what read decodes, with their seqs', async () => {
      const u = user();
      await store.write([1, 2, 3, 5, 8].map((seq) => ({ user: u, message: message(seq) })));
      for (const [afterSeq, limit, beforeSeq] of [
        [0, 10, Infinity],
        [0, 2, Infinity],
        [2, 2, Infinity],
        [0, 10, 5],
        [8, 10, Infinity],
      ] as const) {
        const page = await store.read(u, afterSeq, limit, beforeSeq);
        const encoded = await store.readEncoded(u, afterSeq, limit, beforeSeq);
        assert.deepEqual(
          encoded.seqs,
          page.messages.map((m) => m.seq),
        );
        assert.deepEqual(
          encoded.encoded.map((bytes) => Message.decode(bytes)),
          page.messages,
        );
        assert.equal(encoded.hasMore, page.hasMore);
        assert.equal(encoded.floorSeq, page.floorSeq);
      }
    });

    it('reads the same with a head hint (exact or loose), but for the floor of a reader past it', async () => {
      const u = user();
      await store.write([1, 2, 3, 5, 8, 1030, 1031].map((seq) => ({ user: u, message: message(seq) })));
      for (const head of [1031, 5000]) {
        for (const [afterSeq, limit, beforeSeq] of [
          [0, 10, Infinity],
          [0, 2, Infinity],
          [2, 2, Infinity],
          [3, 10, 8],
          [5, 10, Infinity],
          [8, 10, Infinity],
          [1029, 1, Infinity],
          [1030, 10, Infinity],
          [1031, 10, Infinity],
          [6000, 10, Infinity],
        ] as const) {
          const plain = await store.readEncoded(u, afterSeq, limit, beforeSeq);
          const hinted = await store.readEncoded(u, afterSeq, limit, beforeSeq, head);
          const what = `after ${afterSeq} limit ${limit} before ${beforeSeq} head ${head}`;
          assert.deepEqual(hinted.seqs, plain.seqs, what);
          assert.deepEqual(hinted.encoded, plain.encoded, what);
          assert.equal(hinted.hasMore, plain.hasMore, what);
          assert.ok(hinted.floorSeq === plain.floorSeq || hinted.floorSeq === 0, what);
        }
      }
    });

    it('redacts an entry in place: the seq stays, the body goes, it is marked recalled; again changes nothing', async () => {
      const [u, other] = [user(), user()];
      await store.write([1, 2, 3].map((seq) => ({ user: u, message: message(seq, `secret ${seq}`) })));
      await store.write([{ user: other, message: message(2, 'not this one') }]);
      await store.redact([{ user: u, seq: 2 }]);
      const page = await store.read(u, 0, 10);
      assert.deepEqual(
        page.messages.map((m) => [m.seq, Buffer.from(m.body).toString(), m.recalled === true]),
        [
          [1, 'secret 1', false],
          [2, '', true],
          [3, 'secret 3', false],
        ],
      );
      assert.deepEqual(page.messages[1], { ...message(2), body: Buffer.alloc(0), recalled: true });
      const encoded = await store.readEncoded(u, 1, 1);
      assert.deepEqual(Message.decode(encoded.encoded[0]!), page.messages[1]);
      await store.redact([{ user: u, seq: 2 }]);
      assert.deepEqual((await store.read(u, 0, 10)).messages, page.messages);
      assert.equal(Buffer.from((await store.read(other, 0, 10)).messages[0]!.body).toString(), 'not this one');
    });

    it('redacts many entries of many users in one call, and never creates an entry that was not stored', async () => {
      const [a, b, c] = [user(), user(), user()];
      await store.write([
        ...[1, 2, 1030].map((seq) => ({ user: a, message: message(seq) })),
        { user: b, message: message(5) },
      ]);
      await store.redact([
        { user: a, seq: 1 },
        { user: a, seq: 1030 },
        { user: a, seq: 7 },
        { user: b, seq: 5 },
        { user: c, seq: 3 },
      ]);
      const recalled = async (u: string) =>
        (await store.read(u, 0, 10)).messages.map((m) => [m.seq, m.recalled === true]);
      assert.deepEqual(await recalled(a), [
        [1, true],
        [2, false],
        [1030, true],
      ]);
      assert.deepEqual(await recalled(b), [[5, true]]);
      assert.deepEqual(await recalled(c), []);
      await store.redact([]);
    });

    it('removes entries, leaving gaps, across users and buckets; removing again or what was never stored does nothing', async () => {
      const [a, b] = [user(), user()];
      await store.write([
        ...[1, 2, 3, 1030].map((seq) => ({ user: a, message: message(seq) })),
        { user: b, message: message(2) },
      ]);
      const removed = [
        { user: a, seq: 2 },
        { user: a, seq: 1030 },
        { user: a, seq: 9 },
      ];
      await store.remove(removed);
      await store.remove(removed);
      await store.remove([]);
      assert.deepEqual(
        (await store.read(a, 0, 10)).messages.map((m) => m.seq),
        [1, 3],
      );
      assert.deepEqual((await store.readEncoded(a, 0, 10)).seqs, [1, 3]);
      assert.deepEqual(
        (await store.read(b, 0, 10)).messages.map((m) => m.seq),
        [2],
      );
      await store.write([{ user: a, message: message(4) }]);
      assert.deepEqual(
        (await store.read(a, 0, 10)).messages.map((m) => m.seq),
        [1, 3, 4],
      );
    });

    it('scans every stored entry once, across users, buckets and pages, redacted ones as tombstones', async () => {
      const [a, b] = [user(), user()];
      const far = 2 ** 32 + 1; // another term's seqs: another bucket where the adapter has them
      await store.write([
        ...[1, 2, 3].map((seq) => ({ user: a, message: message(seq) })),
        ...[5, far].map((seq) => ({ user: b, message: message(seq) })),
      ]);
      await store.redact([{ user: a, seq: 2 }]);
      const seen: string[] = [];
      for await (const { user: u, message: m } of store.scan(scanPageSize)) {
        if (u === a || u === b) seen.push(`${u === a ? 'a' : 'b'}${m.seq}${m.recalled ? ' recalled' : ''}`);
      }
      assert.deepEqual(seen.sort(), ['a1', 'a2 recalled', 'a3', `b${far}`, 'b5']);
    });

    it('keeps inboxes of different users apart', async () => {
      const [a, b] = [user(), user()];
      await store.write([{ user: a, message: message(1, 'for a') }]);
      assert.equal((await store.read(b, 0, 10)).messages.length, 0);
    });

    it('never moves a device cursor backwards, and keeps devices apart', async () => {
      const u = user();
      assert.equal(await store.cursor(u, 'phone'), 0);
      await store.ack(u, 'phone', 5);
      await store.ack(u, 'phone', 3);
      assert.equal(await store.cursor(u, 'phone'), 5);
      assert.equal(await store.cursor(u, 'laptop'), 0);
    });

    it('keeps the cursors of many users and devices acking at once apart', async () => {
      const [a, b] = [user(), user()];
      await store.ack(a, 'laptop', 9);
      await Promise.all([
        store.ack(a, 'phone', 4),
        store.ack(b, 'phone', 7),
        store.ack(a, 'laptop', 2),
        store.ack(b, 'tablet', 1),
      ]);
      const cursors = await Promise.all([
        store.cursor(a, 'phone'),
        store.cursor(a, 'laptop'),
        store.cursor(b, 'phone'),
        store.cursor(b, 'tablet'),
        store.cursor(b, 'laptop'),
      ]);
      assert.deepEqual(cursors, [4, 9, 7, 1, 0]);
    });
  });
}
