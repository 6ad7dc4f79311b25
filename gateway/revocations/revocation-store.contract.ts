import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { ALL_DEVICES, type RevocationStore } from './revocation-store.ts';

/** What every RevocationStore adapter does. Rows of other runs may be in a shared store: each test reads its own users. */
export function revocationStoreContract(
  name: string,
  open: () => Promise<{ store: RevocationStore; close: () => Promise<void> }>,
) {
  describe(`RevocationStore (${name})`, () => {
    let store: RevocationStore;
    let close: () => Promise<void>;
    before(async () => ({ store, close } = await open()));
    after(() => close());
    const run = randomUUID().slice(0, 8);
    const user = (n: string) => `${n}-${run}`;
    const now = Date.now();
    const mine = async (at: number, ...users: string[]) =>
      (await store.active(at)).filter((r) => users.includes(r.user));

    it('lists what was revoked, a device or all of a user’s devices, in user and device order', async () => {
      const [ann, bob] = [user('ann'), user('bob')];
      await store.revoke({ user: bob, device: ALL_DEVICES, atMs: now }, now + 60_000);
      await store.revoke({ user: ann, device: 'phone', atMs: now }, now + 60_000);
      await store.revoke({ user: ann, device: 'lost', atMs: now - 5 }, now + 60_000);
      assert.deepEqual(await mine(now, ann, bob), [
        { user: ann, device: 'lost', atMs: now - 5 },
        { user: ann, device: 'phone', atMs: now },
        { user: bob, device: ALL_DEVICES, atMs: now },
      ]);
    });

    it('keeps the later time when a device is revoked again, whatever the order', async () => {
      const cy = user('cy');
      await store.revoke({ user: cy, device: 'phone', atMs: now + 10 }, now + 60_000);
      await store.revoke({ user: cy, device: 'phone', atMs: now }, now + 60_000);
      assert.deepEqual(await mine(now, cy), [{ user: cy, device: 'phone', atMs: now + 10 }]);
      await store.revoke({ user: cy, device: 'phone', atMs: now + 20 }, now + 60_000);
      assert.deepEqual(await mine(now, cy), [{ user: cy, device: 'phone', atMs: now + 20 }]);
    });

    it('drops a revocation once it expires', async () => {
      const dee = user('dee');
      await store.revoke({ user: dee, device: 'phone', atMs: now }, now + 30_000);
      assert.equal((await mine(now + 29_999, dee)).length, 1);
      assert.deepEqual(await mine(now + 30_000, dee), []);
    });
  });
}
