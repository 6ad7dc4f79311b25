import { EventEmitter } from 'events';
import {
  E2eEnvelope,
  E2ePlaintext,
  type DeviceBundle,
  type GroupCiphertext,
  type KeyBundles,
  type KeyQuery,
  type KeyStatus,
  type KeyUpload,
  type SenderKeyDistribution,
} from '../../proto/gen/im/v1/e2e.pb.ts';
import type { Message } from '../../proto/gen/im/v1/message.pb.ts';
import { isGroupConversation } from '../../lib/conversation.ts';
import { groupAd, pairwiseAd } from './ad.ts';
import { bufferView } from '../../lib/buffer-view.ts';
import { sameBytes, sodiumReady } from './bytes.ts';
import { addOneTimeKeys, newDeviceKeys, rotate, uploadOf, type DeviceKeys } from './device-keys.ts';
import { E2eError } from './e2e-error.ts';
import { address, decryptFrom, encryptFor, startSession } from './pairwise.ts';
import { safetyNumber, type DeviceIdentity } from './safety-number.ts';
import { distributionOf, newSenderKey, peerKeyOf, senderKeyDecrypt, senderKeyEncrypt } from './sender-key.ts';
import { ContentMemory } from './content-memory.ts';
import type { E2eState, E2eStore } from './state.ts';

/** How a device reaches the server's key directory (the SDK sends key_upload / key_query frames). */
export interface KeyDirectoryClient {
  upload(upload: KeyUpload): Promise<KeyStatus>;
  query(query: KeyQuery): Promise<KeyBundles>;
}

export interface IdentityChange {
  user: string;
  device: string;
  /** The safety number with the user now, to compare again. */
  safetyNumber: string;
}

export interface OpenedContent {
  contentType: string;
  body: Uint8Array;
}

export interface SealedMessage {
  /** The E2eEnvelope to send as the body (content type E2E_CONTENT_TYPE). */
  body: Uint8Array;
  /** Call once the server has stored the message: the devices handed a sender key in it have it from then on. */
  sent(): void;
}

export interface EndToEndOptions {
  /** A user's device list is asked for again after this long (a device added since is missed until then). */
  deviceListTtlMs?: number;
}

/** One-time keys: topped up to TARGET when the server holds fewer than LOW; at most KEPT private halves kept. */
const LOW_ONE_TIME_KEYS = 20;
const TARGET_ONE_TIME_KEYS = 50;
const ONE_TIME_KEYS_KEPT = 400;
/**
 * Groups larger than this are not encrypted: a new sender key goes to every member device in one envelope (about
 * 300 bytes each), which must fit a message body (IM_MAX_BODY_BYTES, 32 KiB by default).
 */
export const MAX_ENCRYPTED_GROUP_MEMBERS = 50;
const CONTENT_KEPT = 2000;
const SEEN_KEPT = 10_000;
const SENDER_KEYS_KEPT = 3;
const QUERY_USERS = 32;

/**
 * One device's end-to-end encryption: its keys in the server's directory, pairwise sessions with every device it
 * writes to (its own other devices among them), sender keys for small groups, and the content it opened or sent.
 * The SDK calls `seal` before a send and `open` for every encrypted entry it shows.
 */
export class EndToEnd extends EventEmitter<{ identityChanged: [IdentityChange] }> {
  private queue: Promise<unknown> = Promise.resolve();
  private saving: Promise<void> = Promise.resolve();
  private dirty = false;
  private usedKeys = 0;
  private readonly opened: ContentMemory;
  private readonly sent: ContentMemory;

  private constructor(
    private readonly store: E2eStore,
    private readonly state: E2eState,
    private readonly options: EndToEndOptions,
  ) {
    super();
    this.opened = new ContentMemory(state.opened, CONTENT_KEPT);
    this.sent = new ContentMemory(state.sent, CONTENT_KEPT);
  }

  /** Loads the device's state, or makes new keys for a device the store does not know (a new device). */
  static async open(
    store: E2eStore,
    who: { user: string; device: string },
    options: EndToEndOptions = {},
  ): Promise<EndToEnd> {
    await sodiumReady;
    let state = await store.load();
    if (!state || state.user !== who.user || state.device !== who.device) {
      state = freshState(who.user, who.device);
      await store.save(state);
    }
    return new EndToEnd(store, state, options);
  }

  get identityKey(): Uint8Array {
    return this.state.keys.identity.publicKey;
  }

  /** The server has had this device's keys (at least once). */
  get published(): boolean {
    return this.state.published;
  }

  /** True once this device's keys should be topped up (first messages used some, or the fallback key). */
  get wantsKeys(): boolean {
    return !this.state.published || this.state.fallbackUsed || this.usedKeys >= 10;
  }

  isEncrypted(conversation: string): boolean {
    return this.state.encrypted.includes(conversation);
  }

  /** From now on every send to `conversation` is encrypted (on this device; the others learn it from the messages). */
  markEncrypted(conversation: string): void {
    if (this.isEncrypted(conversation)) return;
    this.state.encrypted.push(conversation);
    this.changed();
  }

  /** Publishes this device's keys (all of them the first time), tops its one-time keys up, replaces used keys. */
  publish(directory: KeyDirectoryClient): Promise<KeyStatus> {
    return this.serially(async () => {
      const { keys } = this.state;
      let status = await this.upload(directory, uploadOf(keys, { all: !this.state.published }), true);
      const { prekey } = rotate(keys, {
        fallback: this.state.fallbackUsed || status.fallbackClaims > 0,
        nowMs: Date.now(),
      });
      const fallback = this.state.fallbackUsed || status.fallbackClaims > 0;
      if (status.oneTimeKeys < LOW_ONE_TIME_KEYS) addOneTimeKeys(keys, TARGET_ONE_TIME_KEYS - status.oneTimeKeys);
      if (prekey || fallback || keys.unpublished.length > 0) {
        status = await this.upload(directory, uploadOf(keys, { prekey, fallback }), false);
      }
      if (keys.oneTimeKeys.length > ONE_TIME_KEYS_KEPT)
        keys.oneTimeKeys.splice(0, keys.oneTimeKeys.length - ONE_TIME_KEYS_KEPT);
      this.state.fallbackUsed = false;
      this.usedKeys = 0;
      await this.save();
      return status;
    });
  }

  private async upload(directory: KeyDirectoryClient, upload: KeyUpload, mayRepublish: boolean): Promise<KeyStatus> {
    let status: KeyStatus;
    try {
      status = await directory.upload(upload);
    } catch (err) {
      // The server no longer has this device's keys (a new data directory): publish everything again.
      if (!mayRepublish || (err as { code?: string }).code !== 'INVALID_ARGUMENT' || !this.state.published) throw err;
      status = await directory.upload(uploadOf(this.state.keys, { all: true }));
    }
    this.state.published = true;
    this.state.keys.unpublished = [];
    return status;
  }

  /**
   * Encrypts a message for every device of `readers` (user ids; a group's members, or both users of a 1:1, this one
   * included) that has keys. Durable before it resolves, so a ciphertext never leaves ahead of the state it used.
   */
  seal(
    directory: KeyDirectoryClient,
    m: { conversation: string; readers: string[]; clientMsgId: string; contentType: string; body: Uint8Array },
  ): Promise<SealedMessage> {
    return this.serially(async () => {
      const group = isGroupConversation(m.conversation);
      if (group && m.readers.length > MAX_ENCRYPTED_GROUP_MEMBERS)
        throw new E2eError(
          'E2E_UNSUPPORTED',
          `groups of more than ${MAX_ENCRYPTED_GROUP_MEMBERS} members are not encrypted`,
        );
      const devices = await this.devicesOf(directory, m.readers);
      if (!group && !devices.some((d) => d.user !== this.state.user))
        throw new E2eError('E2E_UNSUPPORTED', 'the other user has no device with end-to-end keys');
      const plaintext = E2ePlaintext.encode({ contentType: m.contentType, body: bufferView(m.body) }).finish();
      const from = {
        conversation: m.conversation,
        fromUser: this.state.user,
        fromDevice: this.state.device,
        clientMsgId: m.clientMsgId,
      };
      const sealed = group
        ? this.sealGroup(from, m.readers, devices, plaintext)
        : {
            envelope: {
              version: 1,
              devices: devices.map((d) =>
                encryptFor(this.state, d, plaintext, pairwiseAd({ ...from, toUser: d.user, toDevice: d.device })),
              ),
            },
            sent: () => undefined,
          };
      this.sent.add({ id: m.clientMsgId, contentType: m.contentType, body: m.body });
      if (!this.state.encrypted.includes(m.conversation)) this.state.encrypted.push(m.conversation);
      await this.save();
      return { body: E2eEnvelope.encode(sealed.envelope).finish(), sent: sealed.sent };
    });
  }

  private sealGroup(
    from: { conversation: string; fromUser: string; fromDevice: string; clientMsgId: string },
    readers: string[],
    devices: { user: string; device: string }[],
    plaintext: Uint8Array,
  ): { envelope: E2eEnvelope; sent: () => void } {
    let own = this.state.ownSenderKeys[from.conversation];
    // A member gone since the key was made must not read on: a new key, handed to those still in the group.
    if (!own || own.members.some((u) => !readers.includes(u))) {
      own = newSenderKey(from.conversation, readers);
      this.state.ownSenderKeys[from.conversation] = own;
    } else {
      own.members = [...new Set([...own.members, ...readers])].sort();
    }
    const handed = new Set(own.handedTo);
    const newcomers = devices.filter((d) => !handed.has(address(d.user, d.device)));
    const distribution = E2ePlaintext.encode({
      contentType: '',
      body: Buffer.alloc(0),
      senderKey: distributionOf(own),
    }).finish();
    const entries = newcomers.map((d) =>
      encryptFor(this.state, d, distribution, pairwiseAd({ ...from, toUser: d.user, toDevice: d.device })),
    );
    const group = senderKeyEncrypt(own, plaintext, groupAd(from));
    const key = own;
    return {
      envelope: { version: 1, devices: entries, group },
      sent: () => {
        for (const d of newcomers)
          if (!key.handedTo.includes(address(d.user, d.device))) key.handedTo.push(address(d.user, d.device));
        this.changed();
      },
    };
  }

  /**
   * The content of an encrypted entry, or an E2eError saying why it is refused: tampered, replayed, made for another
   * device or conversation, or sent before this device had keys. A message opened before opens again (from memory).
   */
  open(m: Message): OpenedContent {
    const { state } = this;
    if (m.fromUser === state.user && m.fromDevice === state.device) {
      const own = this.sent.get(m.clientMsgId);
      if (!own) throw new E2eError('E2E_NO_SESSION', 'sent by this device before its keys were lost');
      return own;
    }
    const known = this.opened.get(m.serverMsgId);
    if (known) return known;
    const seenAs = state.seen[`${m.fromUser}/${m.fromDevice}/${m.clientMsgId}`];
    if (seenAs !== undefined && seenAs !== m.serverMsgId)
      throw new E2eError('E2E_REPLAYED', 'this message was opened before under another id');
    const envelope = decodeEnvelope(m.body);
    const from = address(m.fromUser, m.fromDevice);
    const context = {
      conversation: m.conversation,
      fromUser: m.fromUser,
      fromDevice: m.fromDevice,
      clientMsgId: m.clientMsgId,
    };
    const mine = envelope.devices.find((d) => d.user === state.user && d.device === state.device);
    let content: E2ePlaintext | undefined;
    if (mine) {
      const ad = pairwiseAd({ ...context, toUser: state.user, toDevice: state.device });
      const inner = decodePlaintext(decryptFrom(state, from, mine, ad, (at, key) => this.identityChanged(at, key)));
      this.usedKeys += mine.prekey ? 1 : 0;
      if (inner.senderKey) this.acceptSenderKey(m.conversation, from, inner.senderKey);
      else content = inner;
    }
    if (envelope.group) content = this.openGroup(m.conversation, from, envelope.group, groupAd(context));
    else if (!mine) throw new E2eError('E2E_NOT_FOR_THIS_DEVICE', 'nothing in this message for this device');
    if (!content) throw new E2eError('E2E_MALFORMED', 'the message holds no content');
    const opened = { id: m.serverMsgId, contentType: content.contentType, body: content.body };
    this.opened.add(opened);
    this.see(`${m.fromUser}/${m.fromDevice}/${m.clientMsgId}`, m.serverMsgId);
    if (!state.encrypted.includes(m.conversation)) state.encrypted.push(m.conversation);
    this.changed();
    return opened;
  }

  private acceptSenderKey(conversation: string, from: string, d: SenderKeyDistribution): void {
    if (d.conversation !== conversation || !isGroupConversation(conversation))
      throw new E2eError('E2E_REFUSED', 'a sender key for another conversation');
    const at = `${conversation}|${from}`;
    const keys = this.state.peerSenderKeys[at] ?? [];
    if (keys.some((k) => k.keyId === d.keyId)) return;
    this.state.peerSenderKeys[at] = [peerKeyOf(from, d), ...keys].slice(0, SENDER_KEYS_KEPT);
  }

  private openGroup(conversation: string, from: string, message: GroupCiphertext, ad: Uint8Array): E2ePlaintext {
    const keys = this.state.peerSenderKeys[`${conversation}|${from}`] ?? [];
    const index = keys.findIndex((k) => k.keyId === message.keyId);
    if (index < 0)
      throw new E2eError(
        'E2E_NO_SESSION',
        `no sender key ${message.keyId} of ${from} (sent before this device had it)`,
      );
    const { plaintext, key } = senderKeyDecrypt(keys[index]!, message, ad);
    keys[index] = key;
    return decodePlaintext(plaintext);
  }

  /** The safety number with `user` over every device both users have, after asking the server for them. */
  safetyNumber(directory: KeyDirectoryClient, user: string): Promise<string> {
    return this.serially(async () => {
      await this.refreshDevices(directory, [...new Set([this.state.user, user])]);
      return this.localSafetyNumber(user);
    });
  }

  private localSafetyNumber(user: string): string {
    const { state } = this;
    const devices: DeviceIdentity[] = [{ user: state.user, device: state.device, identityKey: this.identityKey }];
    for (const u of new Set([state.user, user])) {
      for (const device of state.devices[u]?.devices ?? []) {
        const identityKey = state.identities[address(u, device)];
        if (identityKey) devices.push({ user: u, device, identityKey });
      }
    }
    return safetyNumber(devices);
  }

  private identityChanged(at: string, identityKey: Uint8Array): void {
    const [user = '', device = ''] = at.split('/');
    for (const key of Object.values(this.state.ownSenderKeys)) key.handedTo = key.handedTo.filter((d) => d !== at);
    this.state.identities[at] = identityKey;
    this.emit('identityChanged', { user, device, safetyNumber: this.localSafetyNumber(user) });
  }

  /** The devices of `users` to encrypt for (this one excepted), asking the server when the list is old. */
  private async devicesOf(directory: KeyDirectoryClient, users: string[]): Promise<{ user: string; device: string }[]> {
    const ttl = this.options.deviceListTtlMs ?? 5_000;
    const now = Date.now();
    const stale = users.filter((u) => now - (this.state.devices[u]?.checkedAtMs ?? 0) >= ttl);
    if (stale.length > 0) await this.refreshDevices(directory, stale);
    return users.flatMap((user) =>
      (this.state.devices[user]?.devices ?? [])
        .filter((device) => !(user === this.state.user && device === this.state.device))
        .map((device) => ({ user, device })),
    );
  }

  private async refreshDevices(directory: KeyDirectoryClient, users: string[]): Promise<void> {
    for (let i = 0; i < users.length; i += QUERY_USERS) {
      const chunk = [...new Set(users.slice(i, i + QUERY_USERS))];
      const known = Object.keys(this.state.sessions)
        .map((at) => at.split('/') as [string, string])
        .filter(([user]) => chunk.includes(user))
        .flatMap(([user, device]) => {
          const identityKey = this.state.identities[address(user, device)];
          return identityKey ? [{ user, device, identityKey: bufferView(identityKey) }] : [];
        });
      const { devices } = await directory.query({ users: chunk, known });
      const found = new Map<string, string[]>(chunk.map((u) => [u, []]));
      for (const bundle of devices) if (this.accept(bundle)) found.get(bundle.user)?.push(bundle.device);
      const now = Date.now();
      for (const [user, list] of found) this.state.devices[user] = { devices: list, checkedAtMs: now };
    }
    this.changed();
  }

  /** Takes a device from a query: true if it can be written to. */
  private accept(bundle: DeviceBundle): boolean {
    const at = address(bundle.user, bundle.device);
    if (!bundle.signedPrekey) return this.state.sessions[at] !== undefined;
    const trusted = this.state.identities[at];
    try {
      startSession(this.state, bundle);
    } catch (err) {
      if (err instanceof E2eError) return false; // a bundle that does not verify: that device is not written to
      throw err;
    }
    if (trusted && !sameBytes(trusted, bundle.identityKey)) {
      this.state.sessions[at] = this.state.sessions[at]!.slice(0, 1);
      this.identityChanged(at, bundle.identityKey);
    }
    this.state.identities[at] = bundle.identityKey;
    return true;
  }

  private see(key: string, serverMsgId: string): void {
    const { state } = this;
    if (state.seen[key] === undefined) state.seenOrder.push(key);
    state.seen[key] = serverMsgId;
    if (state.seenOrder.length <= SEEN_KEPT) return;
    for (const old of state.seenOrder.splice(0, SEEN_KEPT / 10)) delete state.seen[old];
  }

  private changed(): void {
    this.dirty = true;
  }

  /** Saves the state if it changed (after messages were opened: before they are acknowledged). */
  save(): Promise<void> {
    if (!this.dirty) return this.saving;
    this.dirty = false;
    this.saving = this.saving.then(() => this.store.save(this.state));
    return this.saving;
  }

  private serially<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

function freshState(user: string, device: string): E2eState {
  return {
    version: 1,
    user,
    device,
    keys: withOneTimeKeys(newDeviceKeys()),
    published: false,
    fallbackUsed: false,
    sessions: {},
    identities: {},
    devices: {},
    ownSenderKeys: {},
    peerSenderKeys: {},
    encrypted: [],
    opened: [],
    sent: [],
    seen: {},
    seenOrder: [],
  };
}

/** A new device publishes its first one-time keys with the rest, in one upload. */
function withOneTimeKeys(keys: DeviceKeys): DeviceKeys {
  addOneTimeKeys(keys, TARGET_ONE_TIME_KEYS);
  return keys;
}

function decodeEnvelope(body: Uint8Array): E2eEnvelope {
  try {
    const envelope = E2eEnvelope.decode(body);
    if (envelope.version === 1) return envelope;
  } catch {
    // falls through
  }
  throw new E2eError('E2E_MALFORMED', 'body is not an end-to-end envelope this client reads');
}

function decodePlaintext(bytes: Uint8Array): E2ePlaintext {
  try {
    return E2ePlaintext.decode(bytes);
  } catch {
    throw new E2eError('E2E_MALFORMED', 'decrypted content does not decode');
  }
}
