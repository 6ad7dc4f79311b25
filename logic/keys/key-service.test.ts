import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KeyQuery, KeyUpload } from '../../proto/gen/im/v1/e2e.pb.ts';
import { ImError } from '../../lib/errors.ts';
import { testDevice, type TestDevice } from './device-keys.fixture.ts';
import { MemoryKeyDirectory } from './key-directory.memory.ts';
import { KeyService } from './key-service.ts';

const refused = (pattern: RegExp) => (err: unknown) =>
  err instanceof ImError && err.code === 'INVALID_ARGUMENT' && pattern.test(err.message);

describe('KeyService', () => {
  const setup = (claimsPerUserPerMinute?: number) => {
    const service = new KeyService(new MemoryKeyDirectory(), { claimsPerUserPerMinute });
    const upload = (user: string, device: string, keys: KeyUpload) => service.upload({ user, device, upload: keys });
    const query = (user: string, device: string, q: Partial<KeyQuery>) =>
      service.query({ user, device, query: { users: [], known: [], ...q } });
    return { service, upload, query };
  };

  describe('upload', () => {
    it('stores a first upload and answers with what is left', async () => {
      const { upload } = setup();
      const d = await testDevice();
      assert.deepEqual(await upload('ann', 'phone', d.firstUpload(10)), { oneTimeKeys: 10, fallbackClaims: 0 });
      assert.deepEqual(await upload('ann', 'phone', { identityKey: d.identityKey, oneTimeKeys: [] }), {
        oneTimeKeys: 10,
        fallbackClaims: 0,
      });
    });

    it('refuses a signature that does not verify, or one by another identity key', async () => {
      const { upload } = setup();
      const [d, other] = [await testDevice(), await testDevice()];
      const bad = d.signed(1);
      bad.signature[0]! ^= 1;
      await assert.rejects(
        upload('ann', 'phone', { ...d.firstUpload(1), signedPrekey: bad }),
        refused(/signed_prekey.signature does not verify/),
      );
      await assert.rejects(
        upload('ann', 'phone', { ...d.firstUpload(1), fallbackKey: other.signed(2) }),
        refused(/fallback_key.signature does not verify/),
      );
      const swapped = { ...d.signed(1), id: 7 };
      await assert.rejects(upload('ann', 'phone', { ...d.firstUpload(1), signedPrekey: swapped }), refused(/verify/));
    });

    it('refuses keys and signatures of the wrong size', async () => {
      const { upload } = setup();
      const d = await testDevice();
      const first = d.firstUpload(2);
      await assert.rejects(
        upload('ann', 'phone', { ...first, identityKey: d.identityKey.subarray(0, 31) }),
        refused(/identity_key must be 32 bytes, got 31/),
      );
      const long = { id: 1, publicKey: Buffer.alloc(33, 1) };
      await assert.rejects(
        upload('ann', 'phone', { ...first, oneTimeKeys: [long] }),
        refused(/one_time_keys\[0\].public_key must be 32 bytes, got 33/),
      );
      const short = { ...d.signed(1), signature: Buffer.alloc(63) };
      await assert.rejects(
        upload('ann', 'phone', { ...first, signedPrekey: short }),
        refused(/signed_prekey.signature must be 64 bytes/),
      );
      await assert.rejects(
        upload('ann', 'phone', { ...first, fallbackKey: { ...d.signed(2), publicKey: Buffer.alloc(0) } }),
        refused(/fallback_key.public_key must be 32 bytes, got 0/),
      );
      await assert.rejects(service().upload({ user: 'ann', device: 'phone' }), refused(/identity_key/));
    });

    it('refuses zero ids and a one-time key id twice in one upload', async () => {
      const { upload } = setup();
      const d = await testDevice();
      const first = d.firstUpload(0);
      await assert.rejects(
        upload('ann', 'phone', { ...first, signedPrekey: d.signed(0) }),
        refused(/signed_prekey.id/),
      );
      await assert.rejects(upload('ann', 'phone', { ...first, fallbackKey: d.signed(0) }), refused(/fallback_key.id/));
      await assert.rejects(
        upload('ann', 'phone', { ...first, oneTimeKeys: d.oneTime(0, 2) }),
        refused(/one_time_keys\[0\].id must not be 0/),
      );
      const twice = [...d.oneTime(5, 2), ...d.oneTime(6, 1)];
      await assert.rejects(upload('ann', 'phone', { ...first, oneTimeKeys: twice }), refused(/\[2\].id 6 .* twice/));
      assert.deepEqual(await upload('ann', 'phone', first), { oneTimeKeys: 0, fallbackClaims: 0 }, 'nothing stored');
    });

    it('refuses more than 100 one-time keys in an upload, and more than 500 stored', async () => {
      const { upload } = setup();
      const d = await testDevice();
      await assert.rejects(
        upload('ann', 'phone', { ...d.firstUpload(0), oneTimeKeys: d.oneTime(1, 101) }),
        refused(/at most 100 one-time keys, got 101/),
      );
      await upload('ann', 'phone', d.firstUpload(100));
      const more = (from: number, n = 100) =>
        upload('ann', 'phone', { identityKey: d.identityKey, oneTimeKeys: d.oneTime(from, n) });
      for (const from of [101, 201, 301]) await more(from);
      assert.deepEqual(await more(401, 99), { oneTimeKeys: 499, fallbackClaims: 0 });
      await assert.rejects(more(500, 2), refused(/at most 500 one-time keys/));
      assert.deepEqual(await more(499, 2), { oneTimeKeys: 500, fallbackClaims: 0 }, 'a stored id is not counted twice');
    });

    it('refuses a first upload without a signed prekey and a fallback key', async () => {
      const { upload } = setup();
      const d = await testDevice();
      const { signedPrekey, fallbackKey, ...rest } = d.firstUpload(3);
      const why = /first upload, or one with a new identity key, must carry signed_prekey and fallback_key/;
      await assert.rejects(upload('ann', 'phone', { ...rest, signedPrekey }), refused(why));
      await assert.rejects(upload('ann', 'phone', { ...rest, fallbackKey }), refused(why));
      await assert.rejects(upload('ann', 'phone', { identityKey: d.identityKey, oneTimeKeys: [] }), refused(why));
    });

    it('replaces everything of a device whose identity key changed (a reset)', async () => {
      const { upload, query } = setup();
      const [old, reset] = [await testDevice(), await testDevice()];
      await upload('ann', 'phone', old.firstUpload(3));
      await query('bob', 'pc', { users: ['ann'] });
      await upload('ann', 'phone', { identityKey: old.identityKey, oneTimeKeys: [] });
      await assert.rejects(
        upload('ann', 'phone', { identityKey: reset.identityKey, oneTimeKeys: reset.oneTime(1, 2) }),
        refused(/must carry signed_prekey and fallback_key/),
      );
      const fresh = reset.firstUpload(2);
      assert.deepEqual(await upload('ann', 'phone', fresh), { oneTimeKeys: 2, fallbackClaims: 0 });
      const [bundle] = (await query('bob', 'pc', { users: ['ann'] })).devices;
      assert.deepEqual(bundle?.identityKey, reset.identityKey);
      assert.deepEqual(bundle?.signedPrekey, fresh.signedPrekey);
      assert.deepEqual(bundle?.oneTimeKey, fresh.oneTimeKeys[0], 'a new key, not one left from before the reset');
    });

    it('adds one-time keys, and a new fallback key counts its claims from 0', async () => {
      const { upload, query } = setup();
      const d = await testDevice();
      await upload('ann', 'phone', d.firstUpload(1));
      await query('bob', 'pc', { users: ['ann'] });
      await query('bob', 'pc', { users: ['ann'] });
      assert.deepEqual(await upload('ann', 'phone', { identityKey: d.identityKey, oneTimeKeys: d.oneTime(2, 3) }), {
        oneTimeKeys: 3,
        fallbackClaims: 1,
      });
      const fallbackKey = d.signed(3);
      assert.deepEqual(await upload('ann', 'phone', { identityKey: d.identityKey, fallbackKey, oneTimeKeys: [] }), {
        oneTimeKeys: 3,
        fallbackClaims: 0,
      });
    });
  });

  describe('query', () => {
    /** ann has a phone and a laptop, bob a pc; each published `count` one-time keys. */
    const three = async (count: number) => {
      const s = setup();
      const devices: Record<string, TestDevice> = {};
      for (const [user, device] of [
        ['ann', 'phone'],
        ['ann', 'laptop'],
        ['bob', 'pc'],
      ] as const) {
        devices[`${user}/${device}`] = await testDevice();
        await s.upload(user, device, devices[`${user}/${device}`]!.firstUpload(count));
      }
      return { ...s, devices };
    };
    const names = (bundles: { devices: { user: string; device: string }[] }) =>
      bundles.devices.map((b) => `${b.user}/${b.device}`);

    it('answers every device of the named users in user then device order, the asker’s own left out', async () => {
      const { query } = await three(5);
      assert.deepEqual(names(await query('bob', 'pc', { users: ['bob', 'ann', 'ann', 'cat'] })), [
        'ann/laptop',
        'ann/phone',
      ]);
      assert.deepEqual(
        names(await query('ann', 'phone', { users: ['ann'] })),
        ['ann/laptop'],
        'a user’s other devices',
      );
      assert.deepEqual(names(await query('ann', 'tablet', { users: ['ann', 'bob'] })), [
        'ann/laptop',
        'ann/phone',
        'bob/pc',
      ]);
    });

    it('hands out one one-time key per bundle, then the fallback key with a rising claim count', async () => {
      const { query, upload, devices } = await three(2);
      const ann = devices['ann/phone']!;
      const first = ann.firstUpload(0);
      const bundlesOf = async () =>
        (await query('bob', 'pc', { users: ['ann'] })).devices.find((b) => b.device === 'phone');
      const got = [await bundlesOf(), await bundlesOf()];
      assert.deepEqual(
        got.map((b) => b?.oneTimeKey?.id),
        [1, 2],
      );
      assert.ok(got.every((b) => b?.fallbackKey === undefined && b?.signedPrekey?.id === first.signedPrekey?.id));
      for (const claims of [1, 2, 3]) {
        const b = await bundlesOf();
        assert.equal(b?.oneTimeKey, undefined);
        assert.equal(b?.fallbackKey?.id, 2);
        assert.deepEqual(b?.identityKey, ann.identityKey);
        assert.deepEqual(await upload('ann', 'phone', { identityKey: ann.identityKey, oneTimeKeys: [] }), {
          oneTimeKeys: 0,
          fallbackClaims: claims,
        });
      }
    });

    it('claims nothing of a device the asker knows with the same identity key', async () => {
      const { query, upload, devices } = await three(3);
      const [phone, laptop] = [devices['ann/phone']!, devices['ann/laptop']!];
      const known = [
        { user: 'ann', device: 'phone', identityKey: phone.identityKey },
        { user: 'ann', device: 'laptop', identityKey: devices['bob/pc']!.identityKey },
      ];
      const { devices: bundles } = await query('bob', 'pc', { users: ['ann'], known });
      assert.deepEqual(bundles[1], { user: 'ann', device: 'phone', identityKey: phone.identityKey });
      assert.equal(bundles[0]?.device, 'laptop');
      assert.ok(bundles[0]?.oneTimeKey, 'a known device whose identity key changed gets a full bundle');
      const status = (d: TestDevice, device: string) =>
        upload('ann', device, { identityKey: d.identityKey, oneTimeKeys: [] });
      assert.deepEqual(await status(phone, 'phone'), { oneTimeKeys: 3, fallbackClaims: 0 });
      assert.deepEqual(await status(laptop, 'laptop'), { oneTimeKeys: 2, fallbackClaims: 0 });
    });

    it('bounds the keys one user claims per minute; devices it knows claim nothing and are not counted', async () => {
      const s = setup(3);
      const ann = await testDevice();
      await s.upload('ann', 'phone', ann.firstUpload(10));
      for (let i = 0; i < 3; i++) assert.ok((await s.query('bob', 'pc', { users: ['ann'] })).devices[0]?.oneTimeKey);
      await assert.rejects(
        s.query('bob', 'pc', { users: ['ann'] }),
        (err: unknown) => err instanceof ImError && err.code === 'RATE_LIMITED' && (err.retryAfterMs ?? 0) > 0,
      );
      const known = [{ user: 'ann', device: 'phone', identityKey: ann.identityKey }];
      assert.equal((await s.query('bob', 'pc', { users: ['ann'], known })).devices.length, 1, 'known: still answered');
      assert.ok((await s.query('cat', 'pc', { users: ['ann'] })).devices[0]?.oneTimeKey, 'another user has their own');
      assert.deepEqual(await s.upload('ann', 'phone', { identityKey: ann.identityKey, oneTimeKeys: [] }), {
        oneTimeKeys: 6,
        fallbackClaims: 0,
      });
    });

    it('refuses more than 32 users and ids that are not user ids', async () => {
      const { query } = await three(1);
      const users = Array.from({ length: 33 }, (_, i) => `u${i}`);
      await assert.rejects(query('bob', 'pc', { users }), refused(/at most 32 users, got 33/));
      assert.deepEqual(await query('bob', 'pc', { users: [...users.slice(0, 32), 'u0', 'u1'] }), { devices: [] });
      await assert.rejects(query('bob', 'pc', { users: ['ann', 'dm:x'] }), refused(/user id/));
    });

    it('never hands one one-time key to two concurrent queries', async () => {
      const { query } = await three(10);
      const answers = await Promise.all(
        Array.from({ length: 12 }, (_, i) => query(`asker${i}`, 'd', { users: ['bob'] })),
      );
      const ids = answers.flatMap((a) => a.devices.map((b) => b.oneTimeKey?.id ?? 0));
      assert.deepEqual(
        ids.filter((id) => id !== 0).sort((a, b) => a - b),
        Array.from({ length: 10 }, (_, i) => i + 1),
      );
      assert.equal(answers.filter((a) => a.devices[0]?.fallbackKey !== undefined).length, 2);
    });
  });
});

function service(): KeyService {
  return new KeyService(new MemoryKeyDirectory());
}
