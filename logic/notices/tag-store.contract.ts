import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { TagStore } from './tag-store.ts';

/**
 * The TagStore contract. App ids and users are fresh per test, because Cassandra keeps its rows and is shared with
 * whoever else runs tests.
 */
export function tagStoreContract(
  adapter: string,
  setup: () => Promise<{ store: TagStore; close: () => Promise<void> }>,
): void {
  describe(`TagStore contract: ${adapter}`, () => {
    let store: TagStore;
    let close: () => Promise<void>;
    before(async () => ({ store, close } = await setup()));
    after(() => close());
    const run = randomUUID().slice(0, 8);
    let made = 0;
    /** Fresh names for one test: names.app('a') is `app_<run>_<n>_a`, names.user('ann') is `ann-<run>-<n>`. */
    const fresh = () => {
      const n = ++made;
      return { app: (name: string) => `app_${run}_${n}_${name}`, user: (name: string) => `${name}-${run}-${n}` };
    };

    it('tags users, counting only those newly tagged; a user tagged already keeps the first sinceMs', async () => {
      const { app, user } = fresh();
      assert.equal(await store.tag(app('a'), 'vip', [user('ann'), user('bob')], 1_000), 2);
      assert.equal(await store.tag(app('a'), 'vip', [user('bob'), user('cat'), user('cat')], 2_000), 1);
      assert.equal(await store.count(app('a'), 'vip'), 3);
      assert.deepEqual(await store.tagsOf(user('bob')), [{ appId: app('a'), tag: 'vip', sinceMs: 1_000 }]);
      assert.deepEqual(await store.tagsOf(user('cat')), [{ appId: app('a'), tag: 'vip', sinceMs: 2_000 }]);
      assert.equal(await store.tag(app('a'), 'vip', [], 3_000), 0);
    });

    it('untags, counting only users who carried the tag', async () => {
      const { app, user } = fresh();
      await store.tag(app('a'), 'vip', [user('ann'), user('bob'), user('cat')], 1_000);
      await store.tag(app('a'), 'beta', [user('ann')], 1_000);
      assert.equal(await store.untag(app('a'), 'vip', [user('ann'), user('dan'), user('ann')]), 1);
      assert.equal(await store.untag(app('a'), 'vip', [user('ann')]), 0);
      assert.equal(await store.untag(app('a'), 'gone', [user('bob')]), 0);
      assert.equal(await store.count(app('a'), 'vip'), 2);
      assert.deepEqual(await store.tagsOf(user('ann')), [{ appId: app('a'), tag: 'beta', sinceMs: 1_000 }]);
      // Tagged again: a new sinceMs.
      assert.equal(await store.tag(app('a'), 'vip', [user('ann')], 5_000), 1);
      assert.deepEqual(await store.tagsOf(user('ann')), [
        { appId: app('a'), tag: 'beta', sinceMs: 1_000 },
        { appId: app('a'), tag: 'vip', sinceMs: 5_000 },
      ]);
      assert.equal(await store.untag(app('a'), 'vip', [user('ann'), user('bob'), user('cat')]), 3);
      assert.equal(await store.count(app('a'), 'vip'), 0);
      assert.deepEqual(await store.tagsOf(user('bob')), []);
    });

    it("lists a user's tags of every app sorted by (appId, tag)", async () => {
      const { app, user } = fresh();
      const ann = user('ann');
      // 'a' and 'a0' as app names: a tuple sorts 'a' first, though 'a:' would sort after 'a0:' as one string.
      await store.tag(app('a0'), 'z', [ann], 1);
      await store.tag(app('b'), 'a', [ann], 2);
      await store.tag(app('a'), 'new', [ann], 3);
      await store.tag(app('a'), 'New', [ann], 4);
      await store.tag(app('a'), 'vip', [user('bob')], 5);
      assert.deepEqual(await store.tagsOf(ann), [
        { appId: app('a'), tag: 'New', sinceMs: 4 },
        { appId: app('a'), tag: 'new', sinceMs: 3 },
        { appId: app('a0'), tag: 'z', sinceMs: 1 },
        { appId: app('b'), tag: 'a', sinceMs: 2 },
      ]);
      assert.deepEqual(await store.tagsOf(user('nobody')), []);
    });

    it('counts per app and tag', async () => {
      const { app, user } = fresh();
      const users = Array.from({ length: 300 }, (_, i) => user(`u${i}`));
      assert.equal(await store.tag(app('a'), 'all', users, 1), 300);
      assert.equal(await store.tag(app('b'), 'all', users.slice(0, 10), 1), 10);
      assert.equal(await store.count(app('a'), 'all'), 300);
      assert.equal(await store.count(app('b'), 'all'), 10);
      assert.equal(await store.count(app('a'), 'none'), 0);
      assert.equal(await store.untag(app('a'), 'all', users.slice(0, 100)), 100);
      assert.equal(await store.count(app('a'), 'all'), 200);
    });

    it('of concurrent tags (and untags) of one user, exactly one counts it', async () => {
      const { app, user } = fresh();
      const users = [user('ann'), user('bob'), user('cat')];
      const added = await Promise.all([1, 2, 3, 4].map((at) => store.tag(app('a'), 'vip', users, at)));
      assert.equal(
        added.reduce((a, b) => a + b),
        3,
      );
      assert.equal(await store.count(app('a'), 'vip'), 3);
      const since = (await store.tagsOf(user('ann')))[0]?.sinceMs;
      assert.ok(since !== undefined && [1, 2, 3, 4].includes(since), `sinceMs ${since}`);
      const removed = await Promise.all([1, 2, 3].map(() => store.untag(app('a'), 'vip', users)));
      assert.equal(
        removed.reduce((a, b) => a + b),
        3,
      );
      assert.equal(await store.count(app('a'), 'vip'), 0);
      for (const u of users) assert.deepEqual(await store.tagsOf(u), []);
    });

    /** Every user carrying the tag, in pages of `limit`, checked as it goes: only the last page lacks `next`. */
    const usersOfAll = async (appId: string, tag: string, limit: number) => {
      const users: string[] = [];
      let after = '';
      for (let pages = 1; ; pages++) {
        assert.ok(pages <= 10_000, 'a listing that does not end');
        const page = await store.usersOf(appId, tag, { after, limit });
        assert.ok(page.items.length <= limit, `${page.items.length} users on a page of ${limit}`);
        users.push(...page.items);
        if (page.next === undefined) return users;
        assert.ok(page.items.length > 0, 'an empty page before the last');
        assert.equal(page.next, page.items.at(-1), '`next` is the last user shown');
        after = page.next;
      }
    };

    it('pages through the users carrying a tag, in JS string order, each once', async () => {
      const { app, user } = fresh();
      assert.deepEqual(await store.usersOf(app('a'), 'vip', { after: '', limit: 10 }), { items: [] });
      // Upper case, digits and '_' sort as JS sorts ('Bob' before 'ann', 'u10' before 'u9').
      const names = ['ann', 'Bob', 'u10', 'u9', 'u1', '_x', 'zed', ...Array.from({ length: 20 }, (_, i) => `m${i}`)];
      const users = names.map(user);
      await store.tag(app('a'), 'vip', users.slice(0, 15), 1);
      await store.tag(app('a'), 'vip', users.slice(10), 2);
      // Other tags, of this app and another, are not listed.
      await store.tag(app('a'), 'beta', [user('other')], 1);
      await store.tag(app('b'), 'vip', [user('other2')], 1);
      const expected = [...users].sort();
      for (const limit of [1, 2, 3, 7, 26, 27, 28, 100])
        assert.deepEqual(await usersOfAll(app('a'), 'vip', limit), expected, `pages of ${limit}`);
      // A page that ends with the last user says so: no `next`.
      assert.deepEqual(await store.usersOf(app('a'), 'vip', { after: '', limit: 27 }), { items: expected });
      assert.deepEqual(await store.usersOf(app('a'), 'vip', { after: expected[23]!, limit: 3 }), {
        items: expected.slice(24),
      });
      assert.deepEqual(await store.usersOf(app('a'), 'vip', { after: expected[4]!, limit: 3 }), {
        items: expected.slice(5, 8),
        next: expected[7],
      });
      // After a user who carries no tag: from the first user after it.
      const between = `${expected[9]!}-`;
      assert.deepEqual(await store.usersOf(app('a'), 'vip', { after: between, limit: 2 }), {
        items: expected.slice(10, 12),
        next: expected[11],
      });
      assert.deepEqual(await store.usersOf(app('a'), 'vip', { after: expected.at(-1)!, limit: 5 }), { items: [] });
      assert.deepEqual(await usersOfAll(app('b'), 'vip', 1), [user('other2')]);
      assert.deepEqual(await usersOfAll(app('a'), 'none', 1), []);

      // Untagged users are no longer listed; tagged again, they are.
      await store.untag(
        app('a'),
        'vip',
        expected.filter((_, i) => i % 2 === 0),
      );
      assert.deepEqual(
        await usersOfAll(app('a'), 'vip', 2),
        expected.filter((_, i) => i % 2 !== 0),
      );
      await store.tag(app('a'), 'vip', [expected[0]!], 3);
      assert.deepEqual(
        await usersOfAll(app('a'), 'vip', 4),
        expected.filter((_, i) => i === 0 || i % 2 !== 0),
      );
    });

    it('hands out copies', async () => {
      const { app, user } = fresh();
      await store.tag(app('a'), 'vip', [user('ann')], 1);
      (await store.tagsOf(user('ann')))[0]!.sinceMs = 99;
      assert.deepEqual(await store.tagsOf(user('ann')), [{ appId: app('a'), tag: 'vip', sinceMs: 1 }]);
    });
  });
}
