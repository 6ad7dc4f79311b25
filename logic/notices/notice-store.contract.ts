import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { monotonicFactory } from 'ulid';
import type { NoticeRecipient, NoticeRecord, NoticeStore } from './notice-store.ts';

const T = 1_700_000_000_000;
/** Where notices are delivered and expire unless a test says otherwise: after every window a test queries. */
const FAR = T + 1e9;

/**
 * The NoticeStore contract. Ids and app ids are fresh per run, because Cassandra keeps its rows and is shared with
 * whoever else runs tests. One store serves every test, so a test that scans (`due`, `expiring`) uses a time window of
 * its own, and looks only at its own notices unless its window is the lowest of all.
 */
export function noticeStoreContract(
  adapter: string,
  setup: () => Promise<{ store: NoticeStore; close: () => Promise<void> }>,
): void {
  describe(`NoticeStore contract: ${adapter}`, () => {
    let store: NoticeStore;
    let close: () => Promise<void>;
    before(async () => ({ store, close } = await setup()));
    after(() => close());
    const run = randomUUID().slice(0, 8);
    const ulid = monotonicFactory();
    let apps = 0;
    /** A fresh app id: each test lists its own app. */
    const newApp = () => `app_${run}_${++apps}`;
    /** A fresh scheduled notice; ids sort in creation order. */
    const newNotice = (fields: Partial<NoticeRecord> = {}): NoticeRecord => {
      const id = `ntc_${ulid().toLowerCase()}`;
      return {
        id,
        appId: `app_${run}`,
        messageId: `msg-${id}`,
        target: { kind: 'users', users: ['ann', 'bob'] },
        content: {
          title: 'Invoice ready',
          body: 'Your invoice for May is ready.',
          data: { invoice: 'inv-42', amount: '12.50' },
          imageUrl: 'https://example.com/i.png',
          sound: 'default',
          category: 'billing',
          collapseKey: 'invoice',
        },
        priority: 'normal',
        createdAtMs: T,
        deliverAtMs: FAR,
        expireAtMs: FAR + 1e9,
        state: 'scheduled',
        serverMsgId: ulid(),
        firedAtMs: 0,
        cancelledAtMs: 0,
        claimOwner: '',
        claimUntilMs: 0,
        timelineSeq: 0,
        ...fields,
      };
    };
    const created = async (fields: Partial<NoticeRecord> = {}) => {
      const record = newNotice(fields);
      assert.deepEqual(await store.create(record), { record, created: true });
      return record;
    };
    /** A notice brought to `state` through the store's own transitions. */
    const inState = async (state: NoticeRecord['state'], fields: Partial<NoticeRecord> = {}) => {
      const record = await created(fields);
      if (state === 'firing' || state === 'sent') assert.ok(await store.claim(record.id, 'setup', T, T + 1));
      if (state === 'sent') assert.equal(await store.markSent(record.id, T + 1, 0), true);
      if (state === 'cancelled') assert.ok(await store.cancel(record.id, T + 2));
      if (state === 'expired') assert.equal(await store.markExpired(record.id), true);
      const now = (await store.get(record.id))!;
      assert.equal(now.state, state);
      return now;
    };
    const idsOf = (records: readonly NoticeRecord[], among?: readonly NoticeRecord[]) =>
      records.map((r) => r.id).filter((id) => !among || among.some((r) => r.id === id));

    it('creates a notice and reads it back, for each kind of target; an unknown id reads undefined', async () => {
      const users = await created();
      const tag = await created({ target: { kind: 'tag', tag: 'vip' }, priority: 'high', content: emptyContent() });
      const all = await created({ target: { kind: 'all' }, priority: 'low' });
      for (const record of [users, tag, all]) assert.deepEqual(await store.get(record.id), record);
      assert.equal(await store.get(`ntc_${run}_nobody`), undefined);
    });

    it('keeps a list of 10,000 users', async () => {
      const users = Array.from({ length: 10_000 }, (_, i) => `user-${run}-${i}`);
      const record = await created({ target: { kind: 'users', users } });
      assert.deepEqual(await store.get(record.id), record);
    });

    it('creates once per (appId, messageId): a repeat returns the first record, created false', async () => {
      const appId = newApp();
      const first = await created({ appId, messageId: 'order-1' });
      const again = newNotice({ appId, messageId: 'order-1', content: emptyContent() });
      assert.deepEqual(await store.create(again), { record: first, created: false });
      assert.equal(await store.get(again.id), undefined);
      // The same messageId in another app is another notice.
      await created({ appId: newApp(), messageId: 'order-1' });
    });

    it('of concurrent creates with one (appId, messageId), exactly one creates; all return its record', async () => {
      const appId = newApp();
      const attempts = Array.from({ length: 8 }, () => newNotice({ appId, messageId: 'race' }));
      const results = await Promise.all(attempts.map((record) => store.create(record)));
      const winners = results.filter((r) => r.created);
      assert.equal(winners.length, 1);
      const winner = winners[0]!.record;
      assert.ok(attempts.some((a) => a.id === winner.id));
      for (const result of results) assert.deepEqual(result.record, winner);
      assert.deepEqual(await store.get(winner.id), winner);
      const listed = await store.list(appId, { after: '', limit: 10 });
      assert.deepEqual(idsOf(listed.items), [winner.id]);
      for (const attempt of attempts.filter((a) => a.id !== winner.id))
        assert.equal(await store.get(attempt.id), undefined);
    });

    it('hands out copies: changing a returned or a given record changes nothing stored', async () => {
      const record = newNotice();
      const kept = structuredClone(record);
      const { record: returned } = await store.create(record);
      record.content.data.invoice = 'changed';
      (record.target as { users: string[] }).users.push('eve');
      returned.content.data.amount = '0';
      (returned.target as { users: string[] }).users.pop();
      const read = (await store.get(record.id))!;
      read.content.title = 'changed';
      (read.target as { users: string[] }).users.length = 0;
      assert.deepEqual(await store.get(record.id), kept);
    });

    it('lists one app by id in pages, with and without a state', async () => {
      const appId = newApp();
      const notices = [
        await created({ appId }),
        await inState('cancelled', { appId }),
        await created({ appId }),
        await inState('sent', { appId }),
        await created({ appId }),
      ];
      await created({ appId: newApp() }); // another app's, never listed
      const pages = async (state?: NoticeRecord['state']) => {
        const seen: NoticeRecord[] = [];
        let after = '';
        for (;;) {
          const page = await store.list(appId, { after, limit: 2, ...(state ? { state } : {}) });
          assert.ok(page.items.length <= 2);
          seen.push(...page.items);
          if (page.next === undefined) return seen;
          assert.equal(page.next, page.items.at(-1)!.id);
          after = page.next;
        }
      };
      assert.deepEqual(await pages(), notices);
      assert.deepEqual(await pages('scheduled'), [notices[0], notices[2], notices[4]]);
      assert.deepEqual(await pages('sent'), [notices[3]]);
      assert.deepEqual(await pages('expired'), []);
      const first = await store.list(appId, { after: '', limit: 2 });
      assert.deepEqual(idsOf(first.items), [notices[0]!.id, notices[1]!.id]);
      assert.equal(first.next, notices[1]!.id);
      const scheduled = await store.list(appId, { after: notices[0]!.id, limit: 1, state: 'scheduled' });
      assert.deepEqual(scheduled, { items: [notices[2]], next: notices[2]!.id });
      assert.deepEqual(await store.list(appId, { after: notices[4]!.id, limit: 3 }), { items: [] });
      assert.deepEqual(await store.list(newApp(), { after: '', limit: 3 }), { items: [] });
    });

    it('finds due notices earliest first, up to the limit: scheduled ones due and firing ones whose claim lapsed', async () => {
      const at = (ms: number) => ({ deliverAtMs: T + ms });
      const late = await created(at(30));
      const early = await created(at(10));
      const middle = await created(at(20));
      const lapsed = await created(at(15));
      assert.ok(await store.claim(lapsed.id, 'w1', T, T + 60));
      const ours = [late, early, middle, lapsed];
      ours.push(await created(at(100))); // not yet due
      ours.push(await inState('cancelled', at(5)), await inState('sent', at(6)), await inState('expired', at(7)));
      assert.deepEqual(idsOf(await store.due(T + 50, 1_000), ours), [early.id, middle.id, late.id]);
      // The lowest window of the contract: no other test's notice is due before these.
      assert.deepEqual(idsOf(await store.due(T + 50, 2)), [early.id, middle.id]);
      assert.deepEqual(idsOf(await store.due(T + 20, 1_000), ours), [early.id, middle.id]);
      assert.deepEqual(idsOf(await store.due(T + 9, 1_000), ours), []);
      // The claim holds until T + 60: due from then, at its place by deliverAtMs.
      const due = (await store.due(T + 60, 1_000)).filter((r) => ours.some((o) => o.id === r.id));
      assert.deepEqual(due, await Promise.all([early, lapsed, middle, late].map(read)));
    });

    it('claims exclusively: a scheduled notice, a lapsed claim, or the owner again', async () => {
      const notice = await created();
      const claimed = await store.claim(notice.id, 'a', T, T + 100);
      const firing = { ...notice, state: 'firing' as const, claimOwner: 'a', claimUntilMs: T + 100 };
      assert.deepEqual(claimed, firing);
      assert.deepEqual(await store.get(notice.id), firing);
      assert.equal(await store.claim(notice.id, 'b', T + 99, T + 200), undefined);
      // The owner may claim again (extending it) before it lapses.
      assert.deepEqual(await store.claim(notice.id, 'a', T + 50, T + 150), { ...firing, claimUntilMs: T + 150 });
      assert.equal(await store.claim(notice.id, 'b', T + 149, T + 300), undefined);
      // Lapsed at claimUntilMs: anyone may take it.
      assert.deepEqual(await store.claim(notice.id, 'b', T + 150, T + 300), {
        ...firing,
        claimOwner: 'b',
        claimUntilMs: T + 300,
      });
      // Due once that claim lapses, though it was claimed long before its deliverAtMs.
      assert.deepEqual(idsOf(await store.due(T + 299, 1_000), [notice]), []);
      assert.deepEqual(idsOf(await store.due(T + 300, 1_000), [notice]), [notice.id]);
      assert.equal(await store.claim(`ntc_${run}_nobody`, 'a', T, T + 1), undefined);
      for (const state of ['sent', 'cancelled', 'expired'] as const) {
        const other = await inState(state);
        assert.equal(await store.claim(other.id, 'a', FAR * 2, FAR * 2 + 1), undefined, state);
        assert.deepEqual(await store.get(other.id), other);
      }
    });

    it('of concurrent claims by different owners, exactly one succeeds', async () => {
      for (let round = 0; round < 3; round++) {
        const notice = await created();
        const owners = ['a', 'b', 'c', 'd'];
        const results = await Promise.all(owners.map((owner) => store.claim(notice.id, owner, T, T + 1_000)));
        const won = results.filter((r) => r !== undefined);
        assert.equal(won.length, 1);
        assert.deepEqual(await store.get(notice.id), won[0]);
        // And of a lapsed claim taken over concurrently, again exactly one.
        const again = await Promise.all(owners.map((owner) => store.claim(notice.id, owner, T + 1_000, T + 2_000)));
        assert.equal(again.filter((r) => r !== undefined).length, 1);
      }
    });

    it('marks a firing notice sent, once; not after it was cancelled', async () => {
      const notice = await inState('firing');
      assert.equal(await store.markSent(notice.id, T + 7, 42), true);
      assert.deepEqual(await store.get(notice.id), { ...notice, state: 'sent', firedAtMs: T + 7, timelineSeq: 42 });
      assert.equal(await store.markSent(notice.id, T + 8, 43), false);
      assert.equal((await store.get(notice.id))?.firedAtMs, T + 7);

      const cancelled = await inState('firing');
      assert.ok(await store.cancel(cancelled.id, T + 5));
      assert.equal(await store.markSent(cancelled.id, T + 7, 1), false);
      assert.deepEqual(await store.get(cancelled.id), { ...cancelled, state: 'cancelled', cancelledAtMs: T + 5 });

      const scheduled = await created();
      assert.equal(await store.markSent(scheduled.id, T + 7, 1), false);
      assert.deepEqual(await store.get(scheduled.id), scheduled);
      assert.equal(await store.markSent(`ntc_${run}_nobody`, T, 1), false);
    });

    it('cancels from scheduled, firing or sent, returning the record as it was; again, it changes nothing', async () => {
      for (const state of ['scheduled', 'firing', 'sent'] as const) {
        const notice = await inState(state);
        assert.deepEqual(await store.cancel(notice.id, T + 50), notice, state);
        const cancelled = { ...notice, state: 'cancelled' as const, cancelledAtMs: T + 50 };
        assert.deepEqual(await store.get(notice.id), cancelled, state);
        assert.deepEqual(await store.cancel(notice.id, T + 60), cancelled, state);
        assert.deepEqual(await store.get(notice.id), cancelled, state);
      }
      const expired = await inState('expired');
      assert.deepEqual(await store.cancel(expired.id, T + 50), expired);
      assert.deepEqual(await store.get(expired.id), expired);
      assert.equal(await store.cancel(`ntc_${run}_nobody`, T), undefined);
      assert.equal(await store.get(`ntc_${run}_nobody`), undefined);
    });

    it('of concurrent cancels, each returns a record from before or after the first, and one time stays', async () => {
      const notice = await inState('firing');
      const results = await Promise.all([T + 1, T + 2, T + 3].map((at) => store.cancel(notice.id, at)));
      const stored = (await store.get(notice.id))!;
      assert.equal(stored.state, 'cancelled');
      assert.ok([T + 1, T + 2, T + 3].includes(stored.cancelledAtMs));
      assert.equal(results.filter((r) => r?.state === 'firing').length, 1);
      for (const result of results)
        assert.ok(result?.state === 'firing' ? deepEqual(result, notice) : deepEqual(result, stored));
    });

    it('finds sent and scheduled notices whose expiry passed, and marks them expired', async () => {
      const W = T + 1e6;
      const at = (ms: number) => ({ deliverAtMs: W, expireAtMs: W + ms });
      const scheduled = await created(at(10));
      const sent = await inState('sent', at(20));
      const firing = await inState('firing', at(5));
      const cancelled = await inState('cancelled', at(1));
      const later = await created(at(100));
      const ours = [scheduled, sent, firing, cancelled, later];
      assert.deepEqual(idsOf(await store.expiring(W + 50, 1_000), ours), [scheduled.id, sent.id]);
      assert.deepEqual(idsOf(await store.expiring(W + 15, 1_000), ours), [scheduled.id]);
      // The lowest expiry window of the contract: nothing else expires before these.
      assert.deepEqual(idsOf(await store.expiring(W + 50, 1)), [scheduled.id]);
      const expiring = (await store.expiring(W + 50, 1_000)).filter((r) => r.id === sent.id);
      assert.deepEqual(expiring, [sent]);

      assert.equal(await store.markExpired(scheduled.id), true);
      assert.equal(await store.markExpired(sent.id), true);
      assert.deepEqual(await store.get(sent.id), { ...sent, state: 'expired' });
      assert.equal(await store.markExpired(sent.id), false);
      assert.equal(await store.markExpired(firing.id), false);
      assert.equal(await store.markExpired(cancelled.id), false);
      assert.equal(await store.markExpired(`ntc_${run}_nobody`), false);
      assert.deepEqual(await store.get(firing.id), firing);
      assert.deepEqual(await store.get(cancelled.id), cancelled);
      assert.deepEqual(idsOf(await store.expiring(W + 1_000, 1_000), ours), [later.id]);
      assert.deepEqual(idsOf(await store.due(W + 1_000, 1_000), [scheduled, sent, cancelled, later]), [later.id]);
    });

    it('keeps the first writer of each chunk, and returns chunks in index order', async () => {
      const notice = await created();
      const chunk = (from: number, n: number, seq: number): NoticeRecipient[] =>
        Array.from({ length: n }, (_, i) => ({ user: `user-${from + i}`, seq: seq + i }));
      const one = chunk(500, 500, 7_000);
      assert.deepEqual(await store.putChunk(notice.id, 1, one), one);
      const zero = chunk(0, 500, 1_000);
      assert.deepEqual(await store.putChunk(notice.id, 0, zero), zero);
      assert.deepEqual(await store.putChunk(notice.id, 1, chunk(500, 500, 9_000)), one);
      const three = chunk(1_500, 3, 5);
      await store.putChunk(notice.id, 3, three);
      assert.deepEqual(await store.chunks(notice.id), [zero, one, three]);
      // Concurrent writers of one chunk all get the one stored.
      const racing = await Promise.all(
        [100, 200, 300].map((seq) => store.putChunk(notice.id, 2, chunk(1_000, 2, seq))),
      );
      for (const result of racing) assert.deepEqual(result, racing[0]);
      assert.deepEqual(await store.chunks(notice.id), [zero, one, racing[0], three]);
      // Copies.
      (await store.chunks(notice.id))[0]![0]!.seq = -1;
      assert.deepEqual((await store.chunks(notice.id))[0], zero);
      assert.deepEqual(await store.chunks(`ntc_${run}_nobody`), []);
    });

    it('records a stored chunk anew, and no chunk that was never stored', async () => {
      const notice = await created();
      await store.putChunk(notice.id, 0, [
        { user: 'ann', seq: 3 },
        { user: 'bob', seq: 4 },
      ]);
      const renewed = [
        { user: 'ann', seq: 3 },
        { user: 'bob', seq: 90 },
      ];
      await store.replaceChunk(notice.id, 0, renewed);
      await store.replaceChunk(notice.id, 1, renewed);
      assert.deepEqual(await store.chunks(notice.id), [renewed]);
      assert.deepEqual(await store.putChunk(notice.id, 0, [{ user: 'ann', seq: 1 }]), renewed);
    });

    it('adds counts atomically; unknown notices count zeros', async () => {
      const notice = await created();
      assert.deepEqual(await store.counts(notice.id), { targeted: 0, stored: 0, delivered: 0, read: 0 });
      await store.addCounts(notice.id, { targeted: 1_000, stored: 1_000 });
      await Promise.all(Array.from({ length: 40 }, () => store.addCounts(notice.id, { delivered: 2, read: 1 })));
      await Promise.all(Array.from({ length: 10 }, () => store.addCounts(notice.id, { read: 3 })));
      await store.addCounts(notice.id, {});
      assert.deepEqual(await store.counts(notice.id), { targeted: 1_000, stored: 1_000, delivered: 80, read: 70 });
      assert.deepEqual(await store.counts(`ntc_${run}_nobody`), { targeted: 0, stored: 0, delivered: 0, read: 0 });
    });

    it('keeps the first delivery time it is given', async () => {
      const notice = await created();
      assert.equal(await store.firstDelivery(notice.id), 0);
      await store.noteFirstDelivery(notice.id, 120);
      await store.noteFirstDelivery(notice.id, 80);
      assert.equal(await store.firstDelivery(notice.id), 120);
      const raced = await created();
      await Promise.all([30, 40, 50, 60].map((ms) => store.noteFirstDelivery(raced.id, ms)));
      const first = await store.firstDelivery(raced.id);
      assert.ok([30, 40, 50, 60].includes(first), `first delivery ${first}`);
      await store.noteFirstDelivery(raced.id, 1);
      assert.equal(await store.firstDelivery(raced.id), first);
    });

    /** The notice as stored now. */
    function read(record: NoticeRecord): Promise<NoticeRecord> {
      return store.get(record.id).then((r) => r!);
    }
  });
}

function emptyContent(): NoticeRecord['content'] {
  return { title: 'hi', body: '', data: {}, imageUrl: '', sound: '', category: '', collapseKey: '' };
}

function deepEqual(actual: unknown, expected: unknown): boolean {
  try {
    assert.deepEqual(actual, expected);
    return true;
  } catch {
    return false;
  }
}
