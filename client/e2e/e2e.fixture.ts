import sodium from 'libsodium-wrappers';
import type { DeviceBundle, KeyBundles, KeyQuery, KeyStatus, KeyUpload } from '../../proto/gen/im/v1/e2e.pb.ts';
import { Message } from '../../proto/gen/im/v1/message.pb.ts';
import { E2E_CONTENT_TYPE, signedKeyMessage } from '../../lib/e2e-keys.ts';
import { EndToEnd, type KeyDirectoryClient } from './end-to-end.ts';
import { MemoryE2eStore } from './state.ts';

interface Stored {
  upload: KeyUpload;
  oneTime: KeyUpload['oneTimeKeys'];
  fallbackClaims: number;
}

/**
 * The key directory's rules, small, for unit tests of the client's crypto without a server (the server's own
 * directory is tested by its contract suite, and the two together by the end-to-end tests).
 */
export class TestDirectory {
  readonly devices = new Map<string, Stored>();

  clientFor(user: string, device: string): KeyDirectoryClient {
    return {
      upload: (u) => Promise.resolve(this.upload(user, device, u)),
      query: (q) => Promise.resolve(this.query(user, device, q)),
    };
  }

  private upload(user: string, device: string, u: KeyUpload): KeyStatus {
    const at = `${user}/${device}`;
    let stored = this.devices.get(at);
    for (const k of [u.signedPrekey, u.fallbackKey]) {
      if (k && !sodium.crypto_sign_verify_detached(k.signature, signedKeyMessage(k.id, k.publicKey), u.identityKey))
        throw Object.assign(new Error('bad signature'), { code: 'INVALID_ARGUMENT' });
    }
    if (!stored || !Buffer.from(stored.upload.identityKey).equals(Buffer.from(u.identityKey))) {
      if (!u.signedPrekey || !u.fallbackKey)
        throw Object.assign(new Error('first upload'), { code: 'INVALID_ARGUMENT' });
      stored = { upload: u, oneTime: [], fallbackClaims: 0 };
      this.devices.set(at, stored);
    }
    if (u.signedPrekey) stored.upload.signedPrekey = u.signedPrekey;
    if (u.fallbackKey && u.fallbackKey !== stored.upload.fallbackKey) {
      stored.upload.fallbackKey = u.fallbackKey;
      stored.fallbackClaims = 0;
    }
    stored.oneTime.push(...u.oneTimeKeys);
    return { oneTimeKeys: stored.oneTime.length, fallbackClaims: stored.fallbackClaims };
  }

  private query(user: string, device: string, q: KeyQuery): KeyBundles {
    const devices: DeviceBundle[] = [];
    for (const [at, stored] of [...this.devices].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const [u = '', d = ''] = at.split('/');
      if (!q.users.includes(u) || (u === user && d === device)) continue;
      const identityKey = stored.upload.identityKey;
      const known = q.known.find((k) => k.user === u && k.device === d);
      if (known && Buffer.from(known.identityKey).equals(Buffer.from(identityKey))) {
        devices.push({ user: u, device: d, identityKey });
        continue;
      }
      const oneTimeKey = stored.oneTime.shift();
      if (!oneTimeKey) stored.fallbackClaims++;
      devices.push({
        user: u,
        device: d,
        identityKey,
        signedPrekey: stored.upload.signedPrekey,
        oneTimeKey,
        fallbackKey: oneTimeKey ? undefined : stored.upload.fallbackKey,
      });
    }
    return { devices };
  }
}

/** A device under test: its crypto, its directory client and a counter for server ids. */
export interface TestDevice {
  user: string;
  device: string;
  e2e: EndToEnd;
  directory: KeyDirectoryClient;
  store: MemoryE2eStore;
}

export async function testDevice(
  dir: TestDirectory,
  user: string,
  device: string,
  store = new MemoryE2eStore(),
): Promise<TestDevice> {
  const e2e = await EndToEnd.open(store, { user, device }, { deviceListTtlMs: 0 });
  const directory = dir.clientFor(user, device);
  await e2e.publish(directory);
  return { user, device, e2e, directory, store };
}

let nextId = 1;

/** Seals a message from `from` and returns it as the server would store and deliver it. */
export async function sealed(
  from: TestDevice,
  conversation: string,
  readers: string[],
  text: string,
): Promise<Message> {
  const clientMsgId = `c${nextId}`;
  const s = await from.e2e.seal(from.directory, {
    conversation,
    readers,
    clientMsgId,
    contentType: 'text/plain',
    body: Buffer.from(text),
  });
  s.sent();
  return Message.fromPartial({
    serverMsgId: `s${nextId++}`,
    conversation,
    fromUser: from.user,
    fromDevice: from.device,
    clientMsgId,
    contentType: E2E_CONTENT_TYPE,
    body: Buffer.from(s.body),
  });
}

export function textOf(device: TestDevice, m: Message): string {
  return Buffer.from(device.e2e.open(m).body).toString();
}
