import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { App, AppStore } from './app-store.ts';

/**
 * The AppStore contract. App ids are fresh per run and share a prefix, because the Cassandra registry is one
 * partition shared with whoever else runs tests, and keeps its rows: listings are checked within the run's prefix.
 */
export function appStoreContract(
  adapter: string,
  setup: () => Promise<{ store: AppStore; close: () => Promise<void> }>,
): void {
  describe(`AppStore contract: ${adapter}`, () => {
    let store: AppStore;
    let close: () => Promise<void>;
    before(async () => ({ store, close } = await setup()));
    after(() => close());
    const run = randomUUID().slice(0, 8);
    let made = 0;
    /** A fresh app; ids sort in creation order within this run, and `prefix` names a test's own block of ids. */
    const newApp = (prefix: string, fields: Partial<App> = {}): App => ({
      id: `app_${run}_${prefix}_${String(++made).padStart(4, '0')}`,
      name: 'billing',
      scopes: ['unicast', 'read'],
      secret: randomUUID(),
      createdAtMs: 1_700_000_000_000 + made,
      rateLimits: { requestsPerSecond: 10, recipientsPerSecond: 1000 },
      ...fields,
    });

    it('creates an app and reads it back; an unknown id reads undefined', async () => {
      const app = newApp('get', { scopes: ['tag', 'unicast', 'broadcast'] });
      await store.create(app);
      assert.deepEqual(await store.get(app.id), app);
      assert.equal(await store.get(`app_${run}_nobody`), undefined);
    });

    it('keeps scopes in the order stored, and an empty list as empty', async () => {
      const app = newApp('scopes', { scopes: ['read', 'multicast'] });
      const none = newApp('scopes', { scopes: [] });
      await store.create(app);
      await store.create(none);
      assert.deepEqual((await store.get(app.id))?.scopes, ['read', 'multicast']);
      assert.deepEqual((await store.get(none.id))?.scopes, []);
    });

    it('refuses a duplicate id, leaving the first app as it was', async () => {
      const app = newApp('dup');
      await store.create(app);
      await assert.rejects(store.create({ ...app, name: 'other', secret: 'other' }), /exists/);
      assert.deepEqual(await store.get(app.id), app);
    });

    it('hands out copies: changing a returned app changes nothing stored', async () => {
      const app = newApp('copy');
      await store.create(app);
      const read = (await store.get(app.id))!;
      read.scopes.push('broadcast');
      read.rateLimits.requestsPerSecond = 1;
      app.scopes.push('tag');
      assert.deepEqual((await store.get(app.id))?.scopes, ['unicast', 'read']);
      assert.equal((await store.get(app.id))?.rateLimits.requestsPerSecond, 10);
    });

    it('revokes once: the first time stays, and the app is still returned, with revokedAtMs', async () => {
      const app = newApp('revoke');
      await store.create(app);
      assert.deepEqual(await store.revoke(app.id, 5_000), { ...app, revokedAtMs: 5_000 });
      assert.deepEqual(await store.revoke(app.id, 9_000), { ...app, revokedAtMs: 5_000 });
      assert.deepEqual(await store.get(app.id), { ...app, revokedAtMs: 5_000 });
    });

    it('keeps one revocation time when revocations race', async () => {
      const app = newApp('race');
      await store.create(app);
      const results = await Promise.all([7_000, 8_000, 9_000].map((at) => store.revoke(app.id, at)));
      const at = (await store.get(app.id))?.revokedAtMs;
      assert.ok(at === 7_000 || at === 8_000 || at === 9_000, `revokedAtMs ${at}`);
      for (const result of results) assert.equal(result?.revokedAtMs, at);
    });

    it('revoking an unknown id returns undefined and creates nothing', async () => {
      const id = `app_${run}_ghost`;
      assert.equal(await store.revoke(id, 1), undefined);
      assert.equal(await store.get(id), undefined);
      const { items } = await store.list({ after: `app_${run}_ghos`, limit: 10 });
      assert.ok(!items.some((a) => a.id === id));
    });

    it('lists by id in pages, revoked apps included; next is the last id shown while more follow', async () => {
      const prefix = `app_${run}_list_`;
      const apps = Array.from({ length: 5 }, () => newApp('list'));
      // Created out of order: the listing sorts by id, not by creation.
      for (const app of [...apps].reverse()) await store.create(app);
      await store.revoke(apps[1]!.id, 3);
      const seen: App[] = [];
      let after = prefix;
      for (;;) {
        const page = await store.list({ after, limit: 2 });
        assert.ok(page.items.length <= 2);
        const ours = page.items.filter((a) => a.id.startsWith(prefix));
        seen.push(...ours);
        // Past the run's block (only the Cassandra registry holds other runs' apps), or at the end.
        if (ours.length < page.items.length || page.next === undefined) break;
        assert.equal(page.next, page.items.at(-1)!.id);
        after = page.next;
      }
      assert.deepEqual(seen, [apps[0], { ...apps[1], revokedAtMs: 3 }, ...apps.slice(2)]);
      const first = await store.list({ after: prefix, limit: 2 });
      assert.deepEqual(
        first.items.map((a) => a.id),
        [apps[0]!.id, apps[1]!.id],
      );
      assert.equal(first.next, apps[1]!.id);
    });

    it('lists nothing, and no next, after the last id', async () => {
      // Ids are [a-z0-9_]; '~' sorts after every one of them.
      assert.deepEqual(await store.list({ after: '~', limit: 3 }), { items: [] });
    });
  });
}
