import type { PrekeyHeader } from '../../proto/gen/im/v1/e2e.pb.ts';
import { fromBase64, toBase64 } from './bytes.ts';
import type { DeviceKeys } from './device-keys.ts';
import type { RatchetState } from './ratchet.ts';
import type { OwnSenderKey, PeerSenderKey } from './sender-key.ts';

/** A pairwise session with one device of another user (or of this user). */
export interface Session {
  ratchet: RatchetState;
  /** The initiator's ephemeral key: a first message repeating it belongs to this session. */
  baseKey: Uint8Array;
  /** Sent with every message until the other side answers, so it can set the session up from any of them. */
  pendingPrekey?: PrekeyHeader;
}

/** Content this device opened or sent, kept so a message delivered again (sync after a push) shows without a key. */
export interface KnownContent {
  id: string;
  contentType: string;
  body: Uint8Array;
}

/** Everything a device keeps for end-to-end encryption: its secrets and its sessions. Saved by an E2eStore. */
export interface E2eState {
  version: 1;
  user: string;
  device: string;
  keys: DeviceKeys;
  /** The server has the device's full upload. */
  published: boolean;
  /** The fallback key was handed out: replace it at the next upload. */
  fallbackUsed: boolean;
  /** Per "user/device": sessions, the one to send on first; a few older ones still open late messages. */
  sessions: Record<string, Session[]>;
  /** Per "user/device": the identity key this device trusts for it (the first seen, or the last accepted change). */
  identities: Record<string, Uint8Array>;
  /** Per user: their devices with keys, and when the server was last asked. */
  devices: Record<string, { devices: string[]; checkedAtMs: number }>;
  /** Per group conversation: this device's sender key. */
  ownSenderKeys: Record<string, OwnSenderKey>;
  /** Per "conversation|user/device": sender keys received, newest first. */
  peerSenderKeys: Record<string, PeerSenderKey[]>;
  /** Conversations started (or seen) encrypted: every send to them is encrypted. */
  encrypted: string[];
  /** Opened messages by server_msg_id, newest last, bounded. */
  opened: KnownContent[];
  /** This device's own encrypted sends by client_msg_id, newest last, bounded. */
  sent: KnownContent[];
  /** "user/device/client_msg_id" -> server_msg_id of every message opened: the same again under another id is a replay. */
  seen: Record<string, string>;
  seenOrder: string[];
}

/**
 * Where a device's keys and sessions live between runs: the application's choice (a keychain, a file, a database).
 * `save` is called after every change that must survive (before an encrypted send goes out, before an ack).
 */
export interface E2eStore {
  load(): Promise<E2eState | undefined>;
  save(state: E2eState): Promise<void>;
}

/** Keeps the state in memory only: a restarted client is a new device. The default. */
export class MemoryE2eStore implements E2eStore {
  private state: E2eState | undefined;
  load(): Promise<E2eState | undefined> {
    return Promise.resolve(this.state);
  }
  save(state: E2eState): Promise<void> {
    this.state = state;
    return Promise.resolve();
  }
}

/** JSON with byte arrays as {"$b": base64}. */
export function serializeState(state: E2eState): string {
  // The holder's own value, not `value`: a Buffer's toJSON has already run on that.
  return JSON.stringify(state, function (this: Record<string, unknown>, key: string, value: unknown) {
    const raw = this[key];
    return raw instanceof Uint8Array ? { $b: toBase64(raw) } : value;
  });
}

export function parseState(text: string): E2eState {
  return JSON.parse(text, (_key, value: unknown) =>
    value !== null && typeof value === 'object' && typeof (value as { $b?: unknown }).$b === 'string'
      ? fromBase64((value as { $b: string }).$b)
      : value,
  ) as E2eState;
}
