import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { DeviceKeys, KeyDirectory, OneTimeKey, SignedKey } from './key-directory.ts';

const bytes = (n: number) => new Uint8Array(randomBytes(n));
const signed = (id: number): SignedKey => ({ id, publicKey: bytes(32), signature: bytes(64) });
const keysOf = (): DeviceKeys => ({ identityKey: bytes(32), signedPrekey: signed(1), fallbackKey: signed(2) });
const oneTime = (...ids: number[]): OneTimeKey[] => ids.map((id) => ({ id, publicKey: bytes(32) }));
const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);
const ids = (keys: readonly OneTimeKey[]) => keys.map((k) => k.id).sort((a, b) => a - b);

/**
 * What every KeyDirectory adapter does. A shared store may hold other runs' rows: every test uses fresh user ids.
 * Byte fields are compared as Uint8Array whatever the adapter reads them into.
 */
export function keyDirectoryContract(
  name: string,
  open: () => Promise<{ store: KeyDirectory; close: () => Promise<void> }>,
) {
  describe(`KeyDirectory (${name})`, () => {
    let store: KeyDirectory;
    let close: () => Promise<void>;
    before(async () => ({ store, close } = await open()));
    after(() => close());
    const run = randomUUID().slice(0, 8);
    let n = 0;
    const user = (name: string) => `${name}-${run}-${++n}`;

    /** Claims until the fallback comes back; the one-time keys handed out on the way. */
    const drain = async (u: string, device: string): Promise<OneTimeKey[]> => {
      const got: OneTimeKey[] = [];
      for (;;) {
        const c = await store.claim(u, device);
        assert.ok(c, 'the device has keys');
        if (!('oneTimeKey' in c)) return got;
        got.push(c.oneTimeKey);
      }
    };

    it('knows nothing of a device that has not published', async () => {
      const u = user('nobody');
      assert.equal(await store.identityOf(u, 'phone'), undefined);
      assert.equal(await store.claim(u, 'phone'), undefined);
      assert.deepEqual(await store.devicesOf(u), []);
    });

    it('keeps what a device published and lists a user’s devices in device order', async () => {
      const u = user('ann');
      const [phone, laptop] = [keysOf(), keysOf()];
      assert.deepEqual(await store.replace(u, 'phone', phone, oneTime(1, 2, 3)), { oneTimeKeys: 3, fallbackClaims: 0 });
      assert.deepEqual(await store.replace(u, 'laptop', laptop, []), { oneTimeKeys: 0, fallbackClaims: 0 });
      await store.replace(user('other'), 'phone', keysOf(), oneTime(1));
      assert.deepEqual(await store.identityOf(u, 'phone'), phone.identityKey);
      assert.deepEqual(await store.devicesOf(u), [
        { device: 'laptop', ...laptop },
        { device: 'phone', ...phone },
      ]);
    });

    it('hands out each one-time key once, then the fallback key with a rising count', async () => {
      const u = user('bob');
      const keys = keysOf();
      const uploaded = oneTime(5, 6, 7);
      await store.replace(u, 'phone', keys, uploaded);
      const got = await drain(u, 'phone');
      assert.deepEqual(
        got.sort((a, b) => a.id - b.id),
        uploaded,
      );
      assert.deepEqual(await store.claim(u, 'phone'), { fallbackKey: keys.fallbackKey, fallbackClaims: 2 });
      assert.deepEqual(await store.update(u, 'phone', { oneTimeKeys: [] }, 500), { oneTimeKeys: 0, fallbackClaims: 2 });
    });

    it('never hands one one-time key to two concurrent claims', async () => {
      const u = user('cy');
      await store.replace(u, 'phone', keysOf(), oneTime(...range(1, 20)));
      const claims = await Promise.all(range(0, 24).map(() => store.claim(u, 'phone')));
      const got = claims.flatMap((c) => (c && 'oneTimeKey' in c ? [c.oneTimeKey] : []));
      assert.deepEqual(ids(got), range(1, 20));
      const fallbacks = claims.flatMap((c) => (c && 'fallbackClaims' in c ? [c.fallbackClaims] : []));
      assert.deepEqual(
        fallbacks.sort((a, b) => a - b),
        [1, 2, 3, 4],
      );
    });

    it('adds one-time keys, ignoring ids already stored, and replaces the signed prekey and fallback key given', async () => {
      const u = user('dee');
      const keys = keysOf();
      const first = oneTime(1, 2);
      await store.replace(u, 'phone', keys, first);
      assert.deepEqual(await store.update(u, 'phone', { oneTimeKeys: oneTime(2, 3, 4) }, 500), {
        oneTimeKeys: 4,
        fallbackClaims: 0,
      });
      const signedPrekey = signed(9);
      assert.deepEqual(await store.update(u, 'phone', { signedPrekey, oneTimeKeys: [] }, 500), {
        oneTimeKeys: 4,
        fallbackClaims: 0,
      });
      const got = await drain(u, 'phone');
      assert.deepEqual(ids(got), [1, 2, 3, 4]);
      assert.deepEqual(got.find((k) => k.id === 2)?.publicKey, first[1]?.publicKey, 'the stored key 2 stays');
      assert.deepEqual(await store.devicesOf(u), [{ device: 'phone', ...keys, signedPrekey }]);
      assert.deepEqual(await store.update(u, 'phone', { oneTimeKeys: [] }, 500), { oneTimeKeys: 0, fallbackClaims: 1 });

      const fallbackKey = signed(10);
      assert.deepEqual(await store.update(u, 'phone', { fallbackKey, oneTimeKeys: [] }, 500), {
        oneTimeKeys: 0,
        fallbackClaims: 0,
      });
      assert.deepEqual(await store.claim(u, 'phone'), { fallbackKey, fallbackClaims: 1 });
    });

    it('refuses, changing nothing, an update that would store more one-time keys than allowed', async () => {
      const u = user('eve');
      const keys = keysOf();
      await store.replace(u, 'phone', keys, oneTime(1, 2, 3));
      const change = { signedPrekey: signed(7), oneTimeKeys: oneTime(3, 4, 5) };
      assert.equal(await store.update(u, 'phone', change, 4), 'full');
      assert.deepEqual(await store.devicesOf(u), [{ device: 'phone', ...keys }]);
      assert.deepEqual(await store.update(u, 'phone', { oneTimeKeys: oneTime(3, 4) }, 4), {
        oneTimeKeys: 4,
        fallbackClaims: 0,
      });
    });

    it('replaces everything of a reset device: old one-time keys gone, fallback claims back to 0', async () => {
      const u = user('fay');
      await store.replace(u, 'phone', keysOf(), oneTime(1, 2));
      await drain(u, 'phone');
      await store.replace(u, 'phone', keysOf(), oneTime(1, 2, 3));
      await store.claim(u, 'phone');
      const reset = keysOf();
      const fresh = oneTime(8, 9);
      assert.deepEqual(await store.replace(u, 'phone', reset, fresh), { oneTimeKeys: 2, fallbackClaims: 0 });
      assert.deepEqual(await store.identityOf(u, 'phone'), reset.identityKey);
      assert.deepEqual(await store.devicesOf(u), [{ device: 'phone', ...reset }]);
      const got = await drain(u, 'phone');
      assert.deepEqual(
        got.sort((a, b) => a.id - b.id),
        fresh,
      );
    });
  });
}
