import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import type { DeadLetter, DeadLetterStore } from './dead-letter-store.ts';
import type { MobilePush } from './push-sender.ts';

/** What a contract test asks of the adapter: a store of its own, empty, with this capacity (the default if absent). */
export interface DeadLetterStoreOptions {
  capacity?: number;
}

/**
 * The DeadLetterStore contract. Every test opens stores of its own, empty (Cassandra: a partition of their own, since
 * Cassandra keeps its rows and is shared with whoever else runs tests), and closes them when it is done.
 */
export function deadLetterStoreContract(
  adapter: string,
  setup: (options: DeadLetterStoreOptions) => Promise<{ store: DeadLetterStore; close: () => Promise<void> }>,
): void {
  describe(`DeadLetterStore contract: ${adapter}`, () => {
    const opened: (() => Promise<void>)[] = [];
    afterEach(async () => {
      for (const close of opened.splice(0)) await close();
    });
    const open = async (options: DeadLetterStoreOptions = {}) => {
      const { store, close } = await setup(options);
      opened.push(close);
      return store;
    };

    /** A push with every field set (an alert, a sound, data), `fields` overriding. */
    const push = (id: string, fields: Partial<MobilePush> = {}): MobilePush => ({
      id,
      target: { platform: 'apns', token: `tok-${id}`, topic: 'com.example.im', environment: 'production' },
      alert: { title: 'Ann', body: 'hello' },
      badge: 3,
      collapseId: 'c:ann:bob',
      priority: 'high',
      expireAtMs: 1_700_000_600_000,
      data: { conv: 'c:ann:bob', seq: '42' },
      sound: 'default',
      ...fields,
    });
    /** A dead letter of `push(id)`, `fields` overriding. */
    const letter = (id: string, fields: Partial<DeadLetter> = {}): DeadLetter => ({
      id,
      user: 'ann',
      device: 'phone',
      push: push(id),
      reason: 'ServiceUnavailable',
      attempts: 5,
      atMs: 1_700_000_000_000,
      ...fields,
    });
    /** Every letter kept, by paging through all of them. */
    const all = async (store: DeadLetterStore, limit = 1_000) => {
      const items: DeadLetter[] = [];
      for (let after = ''; ;) {
        const page = await store.list(after, limit);
        items.push(...page.items);
        if (page.next === undefined) return items;
        after = page.next;
      }
    };
    const ids = (letters: readonly DeadLetter[]) => letters.map((l) => l.id);

    it('starts empty: nothing listed, nothing taken', async () => {
      const store = await open();
      assert.deepEqual(await store.list('', 10), { items: [] });
      assert.deepEqual(await store.take(['a', 'b']), []);
      assert.deepEqual(await store.take([]), []);
    });

    it('lists by id ascending, a page at a time, with next only when more follow', async () => {
      const store = await open();
      const letters = ['d', 'a', 'g', 'c', 'f', 'b', 'e'].map((id, i) => letter(id, { atMs: 1_000 + i }));
      for (const l of letters) await store.add(l);
      const sorted = [...letters].sort((x, y) => (x.id < y.id ? -1 : 1));

      assert.deepEqual(await store.list('', 3), { items: sorted.slice(0, 3), next: 'c' });
      assert.deepEqual(await store.list('c', 3), { items: sorted.slice(3, 6), next: 'f' });
      assert.deepEqual(await store.list('f', 3), { items: sorted.slice(6) });
      // Exactly as many as are left: no next.
      assert.deepEqual(await store.list('d', 3), { items: sorted.slice(4) });
      assert.deepEqual(await store.list('', 7), { items: sorted });
      assert.deepEqual(await store.list('', 100), { items: sorted });
      // Strictly after `after`, which need not be kept itself.
      assert.deepEqual(ids((await store.list('b', 2)).items), ['c', 'd']);
      assert.deepEqual(ids((await store.list('bb', 2)).items), ['c', 'd']);
      assert.deepEqual(await store.list('g', 10), { items: [] });
      assert.deepEqual(await store.list('z', 10), { items: [] });
      assert.deepEqual(await store.list('', 1), { items: [sorted[0]!], next: 'a' });
    });

    it('pages through many in id order, each once', async () => {
      const store = await open();
      const letters = Array.from({ length: 250 }, (_, i) => letter(`id-${String((i * 7) % 250).padStart(3, '0')}`));
      for (let i = 0; i < letters.length; i += 25) await Promise.all(letters.slice(i, i + 25).map((l) => store.add(l)));
      const listed = await all(store, 100);
      assert.deepEqual(
        ids(listed),
        Array.from({ length: 250 }, (_, i) => `id-${String(i).padStart(3, '0')}`),
      );
    });

    it('orders ids by their UTF-8 bytes (characters beyond U+FFFF after U+FF21)', async () => {
      const store = await open();
      const [ascii, fullwidth, emoji] = ['id-z', 'id-\uff21', 'id-\u{1f600}'];
      for (const id of [emoji, ascii, fullwidth]) await store.add(letter(id));
      assert.deepEqual(ids((await store.list('', 10)).items), [ascii, fullwidth, emoji]);
      assert.deepEqual(ids((await store.list(fullwidth, 10)).items), [emoji]);
      assert.deepEqual(await store.list('', 2), { items: [letter(ascii), letter(fullwidth)], next: fullwidth });
    });

    it('replaces a letter added again under the same id, every field', async () => {
      const store = await open();
      await store.add(letter('a'));
      await store.add(letter('b'));
      const again = letter('a', {
        user: 'bob',
        device: 'tablet',
        push: push('a', {
          target: { platform: 'fcm', token: 'fcm-token', topic: '', environment: 'sandbox' },
          alert: { title: 'Bob', body: 'again' },
          badge: 9,
          collapseId: 'c:bob:cat',
          priority: 'normal',
          expireAtMs: 0,
          data: { other: 'yes' },
          sound: 'chime.caf',
        }),
        reason: 'InternalServerError',
        attempts: 2,
        atMs: 1_800_000_000_000,
      });
      await store.add(again);
      assert.deepEqual(await store.list('', 10), { items: [again, letter('b')] });
      // And back: a silent push without an alert or a sound replaces one with both.
      const silent = letter('a', { push: push('a', { alert: undefined, sound: undefined, data: {} }) });
      await store.add(silent);
      const [listed] = (await store.list('', 1)).items;
      assert.equal('alert' in listed!.push, false);
      assert.equal('sound' in listed!.push, false);
      assert.deepEqual(listed!.push.data, {});
    });

    it('takes those kept, in the order asked, each once, ignoring unknown ids', async () => {
      const store = await open();
      for (const id of ['a', 'b', 'c', 'd']) await store.add(letter(id, { atMs: 1_000 }));
      assert.deepEqual(await store.take(['c', 'nope', 'a', 'c']), [
        letter('c', { atMs: 1_000 }),
        letter('a', { atMs: 1_000 }),
      ]);
      assert.deepEqual(await all(store), [letter('b', { atMs: 1_000 }), letter('d', { atMs: 1_000 })]);
      // Taken: gone for good.
      assert.deepEqual(await store.take(['a', 'c']), []);
      assert.deepEqual(await store.take(['unknown']), []);
      assert.deepEqual(ids(await all(store)), ['b', 'd']);

      // Dead-lettered again (a replay that failed again): kept again, under its id.
      const again = letter('a', { reason: 'TooManyRequests', attempts: 6, atMs: 2_000 });
      await store.add(again);
      assert.deepEqual(await all(store), [again, letter('b', { atMs: 1_000 }), letter('d', { atMs: 1_000 })]);
      assert.deepEqual(await store.take(['d', 'b', 'a']), [
        letter('d', { atMs: 1_000 }),
        letter('b', { atMs: 1_000 }),
        again,
      ]);
      assert.deepEqual(await store.list('', 10), { items: [] });
    });

    it('loses no letter to two takes asking for it at once', async () => {
      const store = await open();
      await store.add(letter('a'));
      await store.add(letter('b'));
      const [first, second] = await Promise.all([store.take(['a']), store.take(['a', 'b'])]);
      // One process's adapters hand `a` to one of them; Cassandra's may hand it to both (see its notes), never to none.
      assert.ok([...first, ...second].some((l) => l.id === 'a'));
      assert.deepEqual(ids(first), ['a'].slice(0, first.length));
      assert.deepEqual(
        ids(second).filter((id) => id === 'b'),
        ['b'],
      );
      for (const taken of [...first, ...second]) assert.deepEqual(taken, letter(taken.id));
      assert.deepEqual(await store.list('', 10), { items: [] });
    });

    it('keeps at most `capacity`, dropping the oldest by atMs, then by id', async () => {
      const store = await open({ capacity: 3 });
      await store.add(letter('c', { atMs: 30 }));
      await store.add(letter('a', { atMs: 10 }));
      await store.add(letter('b', { atMs: 20 }));
      assert.deepEqual(ids(await all(store)), ['a', 'b', 'c']);
      // Past capacity: the oldest by atMs goes, not the first added (c).
      await store.add(letter('d', { atMs: 40 }));
      assert.deepEqual(ids(await all(store)), ['b', 'c', 'd']);
      // A tie on atMs: the smaller id goes (b before x).
      await store.add(letter('x', { atMs: 20 }));
      assert.deepEqual(ids(await all(store)), ['c', 'd', 'x']);
      // Older than every kept one: the letter just added is the one dropped.
      await store.add(letter('old', { atMs: 5 }));
      assert.deepEqual(ids(await all(store)), ['c', 'd', 'x']);
      // A replacement is no new letter (nothing goes), and it counts by its new atMs: c, now the newest, stays.
      await store.add(letter('c', { atMs: 50, reason: 'again' }));
      assert.deepEqual(await all(store), [
        letter('c', { atMs: 50, reason: 'again' }),
        letter('d', { atMs: 40 }),
        letter('x', { atMs: 20 }),
      ]);
      await store.add(letter('y', { atMs: 45 }));
      await store.add(letter('z', { atMs: 41 }));
      assert.deepEqual(ids(await all(store)), ['c', 'y', 'z']);
      // Taking makes room: nothing goes until it is full again.
      await store.take(['y', 'z']);
      await store.add(letter('e', { atMs: 1 }));
      await store.add(letter('f', { atMs: 2 }));
      assert.deepEqual(ids(await all(store)), ['c', 'e', 'f']);
    });

    it('keeps the newest `capacity` of many added at once', async () => {
      const store = await open({ capacity: 5 });
      // atMs descending as ids ascend, so neither id order nor the order added tells which are newest.
      const letters = Array.from({ length: 20 }, (_, i) =>
        letter(`id-${String(i).padStart(2, '0')}`, { atMs: 100 - i }),
      );
      await Promise.all(letters.map((l) => store.add(l)));
      assert.deepEqual(await all(store), letters.slice(0, 5));
    });

    it('round-trips the push whole: alert and sound absent or present, the data map, every field', async () => {
      const store = await open();
      const full = letter('full', {
        user: 'ann@example.com',
        device: 'iPhone "work" ✓',
        push: push('full', {
          target: { platform: 'apns', token: 'ab'.repeat(32), topic: 'com.example.im.voip', environment: 'sandbox' },
          alert: { title: 'Ann 🙂 "quoted"', body: 'line one\nline two \\ ünïcödé' },
          badge: 0,
          priority: 'normal',
          expireAtMs: 0,
          data: { conv: 'g:team', seq: '9007199254740991', 'with.dot': '', ключ: 'значение', json: '{"a":[1]}' },
          sound: 'bingbong.aiff',
        }),
        reason: 'BadGateway: "upstream" \u2014 503',
        attempts: 1,
        atMs: 8_640_000_000_000,
      });
      // A silent update: no alert, no sound, no data.
      const silent = letter('silent', {
        push: push('silent', {
          target: { platform: 'fcm', token: 'fcm:' + 'x'.repeat(150), topic: '', environment: 'production' },
          alert: undefined,
          sound: undefined,
          badge: 12,
          data: {},
        }),
        attempts: 7,
        atMs: 0,
      });
      // An alert without a sound, a sound without an alert.
      const quiet = letter('quiet', { push: push('quiet', { sound: undefined }) });
      const sounding = letter('sounding', { push: push('sounding', { alert: undefined }) });
      for (const l of [full, silent, quiet, sounding]) await store.add(l);

      const expected = (l: DeadLetter): DeadLetter => {
        const { alert, sound, ...rest } = l.push;
        return {
          ...l,
          push: { ...rest, ...(alert !== undefined ? { alert } : {}), ...(sound !== undefined ? { sound } : {}) },
        };
      };
      const listed = await all(store);
      assert.deepEqual(listed, [full, quiet, silent, sounding].map(expected));
      const byId = new Map(listed.map((l) => [l.id, l.push]));
      assert.equal('alert' in byId.get('silent')!, false);
      assert.equal('sound' in byId.get('silent')!, false);
      assert.equal('alert' in byId.get('sounding')!, false);
      assert.equal('sound' in byId.get('quiet')!, false);
      assert.equal('alert' in byId.get('quiet')!, true);
      assert.equal('sound' in byId.get('full')!, true);
      // What take returns is as whole.
      assert.deepEqual(await store.take(['silent', 'full']), [silent, full].map(expected));
      assert.equal('alert' in (await store.take(['sounding']))[0]!.push, false);
    });

    it('hands out copies, and keeps none of the objects it was given', async () => {
      const store = await open();
      const given = letter('a');
      await store.add(given);
      given.reason = 'changed';
      given.push.data.conv = 'changed';
      given.push.target.token = 'changed';
      given.push.alert!.body = 'changed';

      const [listed] = (await store.list('', 10)).items;
      assert.deepEqual(listed, letter('a'));
      listed.atMs = 0;
      listed.push.data.extra = 'x';
      listed.push.alert!.title = 'x';
      listed.push.target.platform = 'fcm';
      assert.deepEqual(await store.list('', 10), { items: [letter('a')] });

      const [taken] = await store.take(['a']);
      assert.deepEqual(taken, letter('a'));
    });
  });
}
