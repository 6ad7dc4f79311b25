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

    it('hands out copies', async () => {
      const { app, user } = fresh();
      await store.tag(app('a'), 'vip', [user('ann')], 1);
      (await store.tagsOf(user('ann')))[0]!.sinceMs = 99;
      assert.deepEqual(await store.tagsOf(user('ann')), [{ appId: app('a'), tag: 'vip', sinceMs: 1 }]);
    });
  });
}
