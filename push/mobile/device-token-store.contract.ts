import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { MAX_TOKEN_LENGTH, type DeviceToken, type DeviceTokenStore } from './device-token-store.ts';

/**
 * The DeviceTokenStore contract. Users and tokens are fresh per test, because Cassandra keeps its rows and is shared
 * with whoever else runs tests (a token belongs to one device across every user).
 */
/** A registration with every field set, `fields` overriding (for this suite and the adapters' own tests). */
export function registration(
  user: string,
  device: string,
  token: string,
  fields: Partial<DeviceToken> = {},
): DeviceToken {
  return {
    user,
    device,
    platform: 'apns',
    token,
    topic: 'com.example.im',
    environment: 'production',
    locale: 'en-US',
    previews: true,
    updatedAtMs: 1_000,
    ...fields,
  };
}

export function deviceTokenStoreContract(
  adapter: string,
  setup: () => Promise<{ store: DeviceTokenStore; close: () => Promise<void> }>,
): void {
  describe(`DeviceTokenStore contract: ${adapter}`, () => {
    let store: DeviceTokenStore;
    let close: () => Promise<void>;
    before(async () => ({ store, close } = await setup()));
    after(() => close());
    const run = randomUUID().slice(0, 8);
    let made = 0;
    /** Fresh names for one test: user('ann') is `ann-<run>-<n>`, token('a') is `tok-a-<run>-<n>`. */
    const fresh = () => {
      const n = ++made;
      return { user: (name: string) => `${name}-${run}-${n}`, token: (name: string) => `tok-${name}-${run}-${n}` };
    };
    /** Puts many, a few at a time (as many clients registering would). */
    const putAll = async (tokens: readonly DeviceToken[]) => {
      for (let i = 0; i < tokens.length; i += 32) await Promise.all(tokens.slice(i, i + 32).map((t) => store.put(t)));
    };
    const of = async (user: string) => (await store.ofUsers([user])).get(user);
    // Cassandra's tables outlive the suite (and every earlier run's users stay in them); the other adapters' stores
    // start empty here, and hold only what this suite's earlier tests put.
    const shared = adapter === 'cassandra';
    /**
     * A whole scan in pages of `limit` users, checked as it goes: no page has more users, only the last lacks `next`,
     * no user shows twice (within a page or on two), a user's devices come together and sorted. `afterPage` runs
     * after each page is read. Returns the users in scan order and their registrations.
     */
    const scanAll = async (limit: number, afterPage: (items: DeviceToken[]) => Promise<void> = async () => {}) => {
      const order: string[] = [];
      const found = new Map<string, DeviceToken[]>();
      let after = '';
      for (let pages = 1; ; pages++) {
        assert.ok(pages <= 100_000, 'a scan that does not end');
        const page = await store.scan({ after, limit });
        const users = new Set(page.items.map((t) => t.user));
        assert.ok(users.size <= limit, `${users.size} users on a page of ${limit}`);
        for (const u of users) assert.equal(found.has(u), false, `${u} on two pages`);
        for (const t of page.items) {
          const devices = found.get(t.user);
          if (devices === undefined) found.set(t.user, [t]);
          else {
            assert.equal(order.at(-1), t.user, `${t.user}'s devices split, or the user shown twice`);
            assert.ok(devices.at(-1)!.device < t.device, `${t.user}'s devices unsorted or repeated`);
            devices.push(t);
          }
          if (order.at(-1) !== t.user) order.push(t.user);
        }
        await afterPage(page.items);
        if (page.next === undefined) return { order, found };
        assert.ok(users.size > 0, 'an empty page before the last');
        after = page.next;
      }
    };
    /** Page sizes for a scan of `users` users: small, but at most about 200 pages (Cassandra holds every run's). */
    const pageSizes = (users: number) => [1, 2, 3].map((n) => n * Math.max(1, Math.ceil(users / 200)));

    // Only where the store starts empty: Cassandra keeps every run's registrations (its walks below check the end).
    if (!shared)
      it('scans an empty store to one empty page; `next` is absent at the end', async () => {
        assert.deepEqual(await store.scan({ after: '', limit: 10 }), { items: [] });
        const { user, token } = fresh();
        const regs = [
          registration(user('ann'), 'phone', token('ap')),
          registration(user('ann'), 'tablet', token('at')),
          registration(user('bob'), 'phone', token('bp')),
        ];
        await putAll(regs);
        const whole = await store.scan({ after: '', limit: 2 });
        assert.equal('next' in whole, false);
        assert.equal(whole.items.length, 3);
        const first = await store.scan({ after: '', limit: 1 });
        assert.equal(new Set(first.items.map((t) => t.user)).size, 1);
        assert.ok(first.next !== undefined);
        const last = await store.scan({ after: first.next, limit: 1 });
        assert.equal('next' in last, false);
        assert.deepEqual(
          [...first.items, ...last.items].sort((a, b) => (a.token < b.token ? -1 : 1)),
          regs,
        );
        for (const r of regs) assert.equal(await store.remove(r.user, r.device), true);
        assert.deepEqual(await store.scan({ after: '', limit: 10 }), { items: [] });
      });

    it('scans every registration once, in pages of whole users, in a stable order', async () => {
      const { user, token } = fresh();
      // 30 users of 1 to 3 devices, and one of 12 devices (never split, even on pages of one user).
      const regs = Array.from({ length: 30 }, (_, i) =>
        ['phone', 'Tablet', 'watch']
          .slice(0, (i % 3) + 1)
          .map((d, j) =>
            registration(user(`u${i}`), d, token(`${i}-${j}`), { platform: j === 1 ? 'fcm' : 'apns', updatedAtMs: i }),
          ),
      ).flat();
      regs.push(
        ...Array.from({ length: 12 }, (_, j) =>
          registration(user('many'), `d${String(j).padStart(2, '0')}`, token(`m${j}`)),
        ),
      );
      await putAll(regs);
      const expected = new Map<string, DeviceToken[]>();
      for (const r of regs) expected.set(r.user, [...(expected.get(r.user) ?? []), r]);
      for (const devices of expected.values()) devices.sort((a, b) => (a.device < b.device ? -1 : 1));
      const ours = (found: Map<string, DeviceToken[]>) =>
        new Map([...found].filter(([u]) => expected.has(u)).sort(([a], [b]) => (a < b ? -1 : 1)));
      const whole = await scanAll(1_000);
      assert.deepEqual(ours(whole.found), new Map([...expected].sort(([a], [b]) => (a < b ? -1 : 1))));
      const order = whole.order.filter((u) => expected.has(u));
      for (const limit of pageSizes(whole.order.length)) {
        const paged = await scanAll(limit);
        assert.deepEqual(ours(paged.found), ours(whole.found), `pages of ${limit}`);
        assert.deepEqual(
          paged.order.filter((u) => expected.has(u)),
          order,
          `pages of ${limit}: the order changed`,
        );
      }
    });

    it('goes on scanning past users removed since their page was read', async () => {
      const { user, token } = fresh();
      const users = Array.from({ length: 10 }, (_, i) => user(`u${i}`));
      await putAll(
        users.flatMap((u, i) => [registration(u, 'phone', token(`p${i}`)), registration(u, 'pad', token(`t${i}`))]),
      );
      const [limit] = pageSizes((await scanAll(1_000)).order.length);
      const seen: string[] = [];
      // Each of ours is logged out right after its page: the cursor may name a user who has no device any more.
      await scanAll(limit!, async (items) => {
        for (const t of items)
          if (users.includes(t.user)) {
            seen.push(`${t.user}/${t.device}`);
            await store.remove(t.user, t.device);
          }
      });
      assert.deepEqual(seen.sort(), users.flatMap((u) => [`${u}/pad`, `${u}/phone`]).sort());
      assert.equal((await store.ofUsers(users)).size, 0);
    });

    it("stores a device's registration; a put replaces it, every field, and a new token replaces the old", async () => {
      const { user, token } = fresh();
      const ann = user('ann');
      const first = registration(ann, 'phone', token('a'));
      await store.put(first);
      assert.deepEqual(await of(ann), [first]);

      // The same token again, other fields changed (every one of them).
      const refreshed = registration(ann, 'phone', token('a'), {
        topic: 'com.example.im.beta',
        environment: 'sandbox',
        locale: 'de-DE',
        previews: false,
        updatedAtMs: 2_000,
      });
      await store.put(refreshed);
      assert.deepEqual(await of(ann), [refreshed]);

      // A new token, and another platform: the old token is no longer the device's.
      const renewed = registration(ann, 'phone', token('b'), {
        platform: 'fcm',
        topic: '',
        locale: '',
        updatedAtMs: 3_000,
      });
      await store.put(renewed);
      assert.deepEqual(await of(ann), [renewed]);
      assert.equal(await store.removeToken('apns', token('a')), 0);
      assert.deepEqual(await of(ann), [renewed]);
    });

    it("lists a user's devices sorted by device, each with its own token and platform", async () => {
      const { user, token } = fresh();
      const ann = user('ann');
      const tablet = registration(ann, 'tablet', token('t'), { platform: 'fcm', topic: '1:123:android:abc' });
      const phone = registration(ann, 'phone', token('p'));
      const Phone = registration(ann, 'Phone', token('P'), { environment: 'sandbox' });
      const phone2 = registration(ann, 'phone2', token('p2'), { previews: false });
      await putAll([tablet, phone, Phone, phone2]);
      await store.put(registration(user('bob'), 'phone', token('bob')));
      assert.deepEqual(await of(ann), [Phone, phone, phone2, tablet]);
    });

    it('moves a token registered by another device of the same user: one token, one device', async () => {
      const { user, token } = fresh();
      const ann = user('ann');
      await store.put(registration(ann, 'phone', token('a'), { updatedAtMs: 1_000 }));
      await store.put(registration(ann, 'watch', token('w'), { updatedAtMs: 1_000 }));
      const moved = registration(ann, 'phone-new-id', token('a'), { updatedAtMs: 2_000 });
      await store.put(moved);
      assert.deepEqual(await of(ann), [moved, registration(ann, 'watch', token('w'), { updatedAtMs: 1_000 })]);
    });

    it("moves a token to another user: the phone changed hands and gets none of the previous owner's pushes", async () => {
      const { user, token } = fresh();
      const [ann, bob] = [user('ann'), user('bob')];
      await store.put(registration(ann, 'phone', token('a')));
      const bobs = registration(bob, 'phone', token('a'), { locale: 'fr-FR', updatedAtMs: 2_000 });
      await store.put(bobs);
      const found = await store.ofUsers([ann, bob]);
      assert.deepEqual([...found.keys()], [bob]);
      assert.deepEqual(found.get(bob), [bobs]);

      // Ann's phone id registers again with a token of its own; the moved token stays Bob's alone.
      const annNew = registration(ann, 'phone', token('n'), { updatedAtMs: 3_000 });
      await store.put(annNew);
      assert.deepEqual(await of(ann), [annNew]);
      assert.deepEqual(await of(bob), [bobs]);
      // Dead, it leaves Bob's phone only.
      assert.equal(await store.removeToken('apns', token('a')), 1);
      assert.equal(await of(bob), undefined);
      assert.deepEqual(await of(ann), [annNew]);

      // And back to Ann: Bob's registration goes again.
      await store.put(bobs);
      await store.put(registration(ann, 'tablet', token('a'), { updatedAtMs: 4_000 }));
      assert.equal(await of(bob), undefined);
      assert.deepEqual(await of(ann), [annNew, registration(ann, 'tablet', token('a'), { updatedAtMs: 4_000 })]);
    });

    it('keeps a token a device had and then replaced out of a later move of that token', async () => {
      const { user, token } = fresh();
      const [ann, bob] = [user('ann'), user('bob')];
      await store.put(registration(ann, 'phone', token('a')));
      const annB = registration(ann, 'phone', token('b'), { updatedAtMs: 2_000 });
      await store.put(annB);
      // Token a, no longer Ann's, goes to Bob: Ann keeps token b.
      const bobA = registration(bob, 'phone', token('a'), { updatedAtMs: 3_000 });
      await store.put(bobA);
      assert.deepEqual(await of(ann), [annB]);
      assert.deepEqual(await of(bob), [bobA]);
      assert.equal(await store.removeToken('apns', token('b')), 1);
      assert.equal(await of(ann), undefined);
      assert.deepEqual(await of(bob), [bobA]);
    });

    it('tells tokens of the two platforms apart', async () => {
      const { user, token } = fresh();
      const [ann, bob] = [user('ann'), user('bob')];
      const annFcm = registration(ann, 'phone', token('same'), { platform: 'fcm' });
      const bobApns = registration(bob, 'phone', token('same'), { platform: 'apns' });
      await store.put(annFcm);
      await store.put(bobApns);
      assert.deepEqual(await of(ann), [annFcm]);
      assert.deepEqual(await of(bob), [bobApns]);
      assert.equal(await store.removeToken('fcm', token('same')), 1);
      assert.equal(await of(ann), undefined);
      assert.deepEqual(await of(bob), [bobApns]);
    });

    it("removes a device's registration (logout), true only if there was one", async () => {
      const { user, token } = fresh();
      const ann = user('ann');
      await store.put(registration(ann, 'phone', token('p')));
      const tablet = registration(ann, 'tablet', token('t'));
      await store.put(tablet);
      assert.equal(await store.remove(ann, 'phone'), true);
      assert.equal(await store.remove(ann, 'phone'), false);
      assert.equal(await store.remove(ann, 'watch'), false);
      assert.equal(await store.remove(user('nobody'), 'phone'), false);
      assert.deepEqual(await of(ann), [tablet]);
      // Its token went with it.
      assert.equal(await store.removeToken('apns', token('p')), 0);
      assert.equal(await store.remove(ann, 'tablet'), true);
      assert.equal(await of(ann), undefined);

      // Logged in again: registered afresh, and its token can be found again.
      const again = registration(ann, 'phone', token('p'), { updatedAtMs: 5_000 });
      await store.put(again);
      assert.deepEqual(await of(ann), [again]);
      assert.equal(await store.removeToken('apns', token('p')), 1);
    });

    it('removes a dead token wherever it is, counting what it removed', async () => {
      const { user, token } = fresh();
      const [ann, bob] = [user('ann'), user('bob')];
      await store.put(registration(ann, 'phone', token('a')));
      const tablet = registration(ann, 'tablet', token('t'));
      await store.put(tablet);
      const bobs = registration(bob, 'phone', token('b'), { platform: 'fcm', updatedAtMs: 9_000 });
      await store.put(bobs);
      assert.equal(await store.removeToken('apns', token('a')), 1);
      assert.equal(await store.removeToken('apns', token('a')), 0);
      assert.equal(await store.removeToken('apns', token('unknown')), 0);
      // Bob's token is FCM's: not found as an APNs token.
      assert.equal(await store.removeToken('apns', token('b')), 0);
      assert.deepEqual(await of(ann), [tablet]);
      assert.deepEqual(await of(bob), [bobs]);
      // Without unlessUpdatedAfterMs, however recent.
      assert.equal(await store.removeToken('fcm', token('b')), 1);
      assert.equal(await of(bob), undefined);
    });

    it('keeps a registration updated after unlessUpdatedAfterMs: a device that registered again since', async () => {
      const { user, token } = fresh();
      const ann = user('ann');
      await store.put(registration(ann, 'phone', token('a'), { updatedAtMs: 1_000 }));
      // The provider reports the token dead as of 1,500, but the device registered it again at 2,000.
      const again = registration(ann, 'phone', token('a'), { updatedAtMs: 2_000 });
      await store.put(again);
      assert.equal(await store.removeToken('apns', token('a'), 1_500), 0);
      assert.equal(await store.removeToken('apns', token('a'), 1_999), 0);
      assert.deepEqual(await of(ann), [again]);
      // Updated at the time given is not after it: removed.
      assert.equal(await store.removeToken('apns', token('a'), 2_000), 1);
      assert.equal(await of(ann), undefined);

      await store.put(registration(ann, 'tablet', token('t'), { updatedAtMs: 3_000 }));
      assert.equal(await store.removeToken('apns', token('t'), 10_000), 1);
      assert.equal(await store.removeToken('apns', token('t'), 10_000), 0);
      assert.equal(await of(ann), undefined);
    });

    it('returns the registrations of many users in one call; users with none are absent', async () => {
      const { user, token } = fresh();
      const users = Array.from({ length: 600 }, (_, i) => user(`u${i}`));
      // Every other user registered: the even ones a phone, every fourth a tablet too.
      const registered = users.flatMap((u, i) =>
        i % 2 !== 0
          ? []
          : [
              registration(u, 'phone', token(`p${i}`), { updatedAtMs: i }),
              ...(i % 4 === 0 ? [registration(u, 'tablet', token(`t${i}`), { platform: 'fcm', updatedAtMs: i })] : []),
            ],
      );
      await putAll(registered);
      const asked = [...users, users[0]!, user('nobody'), users[2]!];
      const found = await store.ofUsers(asked);
      assert.equal(found.size, 300);
      for (const [i, u] of users.entries()) {
        if (i % 2 !== 0) assert.equal(found.has(u), false, u);
        else
          assert.deepEqual(
            found.get(u),
            registered.filter((r) => r.user === u),
            u,
          );
      }
      assert.equal(found.has(user('nobody')), false);
      assert.equal((await store.ofUsers([])).size, 0);
      assert.equal((await store.ofUsers([user('u1'), user('u3')])).size, 0);
    });

    it('hands out copies, and keeps none of the object it was given', async () => {
      const { user, token } = fresh();
      const ann = user('ann');
      const given = registration(ann, 'phone', token('a'));
      await store.put(given);
      given.token = 'changed';
      given.previews = false;
      const expected = registration(ann, 'phone', token('a'));
      const listed = (await of(ann))!;
      listed[0]!.locale = 'xx';
      listed.push(registration(ann, 'extra', token('x')));
      assert.deepEqual(await of(ann), [expected]);
      assert.equal(await store.removeToken('apns', 'changed'), 0);
    });

    it(`stores a token of ${MAX_TOKEN_LENGTH} characters, and finds it by itself`, async () => {
      const { user, token } = fresh();
      const [ann, bob] = [user('ann'), user('bob')];
      const long = token('long').padEnd(MAX_TOKEN_LENGTH, 'x').slice(0, MAX_TOKEN_LENGTH);
      assert.equal(long.length, MAX_TOKEN_LENGTH);
      const anns = registration(ann, 'phone', long, { platform: 'fcm' });
      await store.put(anns);
      assert.deepEqual(await of(ann), [anns]);
      // One character less is another token.
      assert.equal(await store.removeToken('fcm', long.slice(0, -1)), 0);
      const bobs = registration(bob, 'phone', long, { platform: 'fcm', updatedAtMs: 2_000 });
      await store.put(bobs);
      assert.equal(await of(ann), undefined);
      assert.deepEqual(await of(bob), [bobs]);
      assert.equal(await store.removeToken('fcm', long), 1);
      assert.equal(await of(bob), undefined);
    });

    it("keeps every device's registration when they register at once", async () => {
      const { user, token } = fresh();
      const ann = user('ann');
      const devices = Array.from({ length: 20 }, (_, i) =>
        registration(ann, `d${String(i).padStart(2, '0')}`, token(`${i}`)),
      );
      await Promise.all(devices.map((d) => store.put(d)));
      assert.deepEqual(await of(ann), devices);
    });
  });
}
