import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ClientFrame, ServerFrame } from '../../proto/gen/im/v1/client.pb.ts';
import type { DeviceBundle, KeyBundles, KeyQuery, KeyStatus, KeyUpload } from '../../proto/gen/im/v1/e2e.pb.ts';
import { testDevice, type TestDevice } from '../../logic/keys/device-keys.fixture.ts';
import type { Target } from './harness.ts';
import { RawSocket } from './raw-socket.ts';

const run = Date.now().toString(36);
export const u = (name: string) => `${name}-${run}`;

/** A device's connection that speaks the key frames (the SDK's encryption is built on them; here they are bare). */
export class KeyDevice {
  private requestId = 0;
  private constructor(
    readonly socket: RawSocket,
    readonly keys: TestDevice,
  ) {}

  static async open(server: Target, user: string, device: string, keys?: TestDevice): Promise<KeyDevice> {
    const socket = await RawSocket.open(server.urlFor(user, device), server.token(user, device));
    return new KeyDevice(socket, keys ?? (await testDevice()));
  }

  /** Sends a frame and waits for its answer, whatever its case. */
  async call(body: ClientFrame['body']): Promise<ServerFrame['body']> {
    const requestId = ++this.requestId;
    this.socket.send({ requestId, body });
    return this.socket.next((f) => (f.requestId === requestId ? f.body : undefined));
  }

  async upload(upload: KeyUpload): Promise<KeyStatus> {
    const answer = await this.call({ $case: 'keyUpload', value: upload });
    assert.equal(answer?.$case, 'keyStatus', JSON.stringify(answer));
    return answer.value;
  }

  async query(query: Partial<KeyQuery>): Promise<KeyBundles> {
    const answer = await this.call({ $case: 'keyQuery', value: { users: [], known: [], ...query } });
    assert.equal(answer?.$case, 'keyBundles', JSON.stringify(answer));
    return answer.value;
  }

  /** An upload of the identity key alone: the device's status. */
  status(): Promise<KeyStatus> {
    return this.upload({ identityKey: this.keys.identityKey, oneTimeKeys: [] });
  }

  close(): void {
    this.socket.ws.close();
  }
}

const names = (b: KeyBundles) => b.devices.map((d) => `${d.user}/${d.device}`);

/** The id of a claimed one-time key, checked to be one of `uploaded` (which one is the directory's choice). */
function claimedOf(bundle: DeviceBundle | undefined, uploaded: KeyUpload): number {
  const key = bundle?.oneTimeKey;
  assert.ok(key, 'a one-time key is claimed');
  assert.deepEqual(
    uploaded.oneTimeKeys.find((k) => k.id === key.id),
    key,
  );
  return key.id;
}

/** What the key directory does over the WebSocket in every mode (issue 24). */
export function keysSuite(name: string, start: () => Promise<Target>): void {
  describe(`key directory (${name})`, () => {
    let server: Target;
    const opened: KeyDevice[] = [];
    const open = async (user: string, device: string, keys?: TestDevice) => {
      const d = await KeyDevice.open(server, user, device, keys);
      opened.push(d);
      return d;
    };
    before(async () => {
      server = await start();
    });
    after(async () => {
      for (const d of opened) d.close();
      await server.close();
    });

    it('two devices of one user and a device of another publish their keys and fetch each other’s', async () => {
      const [ann, bob] = [u('ann'), u('bob')];
      const [phone, laptop, pc] = await Promise.all([open(ann, 'phone'), open(ann, 'laptop'), open(bob, 'pc')]);
      const uploads = new Map<KeyDevice, KeyUpload>();
      for (const d of [phone, laptop, pc]) {
        const upload = d.keys.firstUpload(3);
        uploads.set(d, upload);
        assert.deepEqual(await d.upload(upload), { oneTimeKeys: 3, fallbackClaims: 0 });
      }

      const claimed = new Map<KeyDevice, number>();
      const forBob = await pc.query({ users: [ann, bob] });
      assert.deepEqual(names(forBob), [`${ann}/laptop`, `${ann}/phone`], 'his own pc is left out');
      for (const [bundle, d] of [
        [forBob.devices[0], laptop],
        [forBob.devices[1], phone],
      ] as const) {
        const upload = uploads.get(d)!;
        assert.deepEqual(bundle?.identityKey, d.keys.identityKey);
        assert.deepEqual(bundle?.signedPrekey, upload.signedPrekey);
        claimed.set(d, claimedOf(bundle, upload));
        assert.equal(bundle?.fallbackKey, undefined);
      }

      const forPhone = await phone.query({ users: [bob, ann] });
      assert.deepEqual(names(forPhone), [`${ann}/laptop`, `${bob}/pc`], 'the user’s other device and bob’s');
      claimedOf(forPhone.devices[1], uploads.get(pc)!);

      const known = [{ user: ann, device: 'laptop', identityKey: laptop.keys.identityKey }];
      const again = await pc.query({ users: [ann], known });
      const { signedPrekey, oneTimeKey, fallbackKey, ...identity } = again.devices[0]!;
      assert.deepEqual(identity, { user: ann, device: 'laptop', identityKey: laptop.keys.identityKey });
      assert.deepEqual([signedPrekey, oneTimeKey, fallbackKey], [undefined, undefined, undefined], 'a known device');
      assert.notEqual(claimedOf(again.devices[1], uploads.get(phone)!), claimed.get(phone), 'each key once');
      assert.deepEqual(await laptop.status(), { oneTimeKeys: 1, fallbackClaims: 0 }, 'two claims, none by `known`');
      assert.deepEqual(await phone.status(), { oneTimeKeys: 1, fallbackClaims: 0 });
    });

    it('hands out the fallback key once the one-time keys run out, counts it, and takes a top-up', async () => {
      const [cat, dan] = [u('cat'), u('dan')];
      const [tablet, asker] = await Promise.all([open(cat, 'tablet'), open(dan, 'phone')]);
      const first = tablet.keys.firstUpload(1);
      await tablet.upload(first);
      const bundle = async () => (await asker.query({ users: [cat] })).devices[0];
      assert.equal((await bundle())?.oneTimeKey?.id, 1);
      for (const claims of [1, 2]) {
        const b = await bundle();
        assert.equal(b?.oneTimeKey, undefined);
        assert.deepEqual(b?.fallbackKey, first.fallbackKey);
        assert.deepEqual(await tablet.status(), { oneTimeKeys: 0, fallbackClaims: claims });
      }
      const topUp: KeyUpload = { identityKey: tablet.keys.identityKey, oneTimeKeys: tablet.keys.oneTime(2, 5) };
      assert.deepEqual(await tablet.upload(topUp), { oneTimeKeys: 5, fallbackClaims: 2 });
      claimedOf(await bundle(), topUp);
    });

    it('refuses a bad upload or query with INVALID_ARGUMENT, and the connection goes on', async () => {
      const eve = await open(u('eve'), 'phone');
      const forged = {
        ...eve.keys.firstUpload(1),
        signedPrekey: (await KeyDevice.open(server, u('x'), 'x')).keys.signed(1),
      };
      const refusal = async (body: ClientFrame['body']) => {
        const answer = await eve.call(body);
        assert.equal(answer?.$case, 'error');
        return answer.value;
      };
      const bad = await refusal({ $case: 'keyUpload', value: forged });
      assert.equal(bad.code, 'INVALID_ARGUMENT');
      assert.match(bad.message, /signed_prekey.signature does not verify/);
      const short = { ...eve.keys.firstUpload(1), identityKey: Buffer.alloc(16) };
      assert.equal((await refusal({ $case: 'keyUpload', value: short })).code, 'INVALID_ARGUMENT');
      const users = Array.from({ length: 33 }, (_, i) => u(`many${i}`));
      const many = await refusal({ $case: 'keyQuery', value: { users, known: [] } });
      assert.equal(many.code, 'INVALID_ARGUMENT');
      assert.match(many.message, /at most 32 users/);
      assert.deepEqual(await eve.upload(eve.keys.firstUpload(2)), { oneTimeKeys: 2, fallbackClaims: 0 });
      assert.equal(eve.socket.closed, undefined);
    });

    it('replaces everything of a device reset with a new identity key', async () => {
      const [fay, gus] = [u('fay'), u('gus')];
      const [before, asker] = await Promise.all([open(fay, 'phone'), open(gus, 'pc')]);
      await before.upload(before.keys.firstUpload(3));
      before.close();
      const after = await open(fay, 'phone');
      const fresh = after.keys.firstUpload(1);
      assert.deepEqual(await after.upload(fresh), { oneTimeKeys: 1, fallbackClaims: 0 });
      const known = [{ user: fay, device: 'phone', identityKey: before.keys.identityKey }];
      const [bundle] = (await asker.query({ users: [fay], known })).devices;
      assert.deepEqual(bundle?.identityKey, after.keys.identityKey, 'the new identity, to be told to contacts');
      assert.deepEqual(bundle?.oneTimeKey, fresh.oneTimeKeys[0]);
    });
  });
}
