import sodium from 'libsodium-wrappers';
import type { GroupCiphertext, SenderKeyDistribution } from '../../proto/gen/im/v1/e2e.pb.ts';
import { open, seal } from './aead.ts';
import { bufferView } from '../../lib/buffer-view.ts';
import { concat, randomBytes, u32 } from './bytes.ts';
import type { KeyPair } from './device-keys.ts';
import { E2eError } from './e2e-error.ts';

/**
 * Sender keys for small groups: each sending device has a chain of its own per group, handed to the other members'
 * devices over the pairwise sessions; a group message is encrypted once under the chain's next key and signed with
 * the chain's signing key. A member leaving makes every sender start a new chain the leaver never gets.
 */
export interface OwnSenderKey {
  conversation: string;
  keyId: number;
  chainKey: Uint8Array;
  iteration: number;
  signing: KeyPair;
  /** The users the key was made for: when one of them leaves the group, the key is replaced. */
  members: string[];
  /** Devices ("user/device") that were handed this key. */
  handedTo: string[];
}

export interface PeerSenderKey {
  conversation: string;
  /** "user/device" of the sender. */
  sender: string;
  keyId: number;
  chainKey: Uint8Array;
  iteration: number;
  signingKey: Uint8Array;
  /** Keys of iterations skipped over (messages still on the way), by iteration. */
  skipped: { iteration: number; key: Uint8Array }[];
}

/** How far ahead of its chain a group message may be, and how many skipped keys are kept per chain. */
export const MAX_GROUP_SKIP = 2000;
export const MAX_GROUP_SKIPPED_KEPT = 500;

const CONTEXT = 'imsender';

function step(chainKey: Uint8Array): { messageKey: Uint8Array; chainKey: Uint8Array } {
  return {
    messageKey: sodium.crypto_kdf_derive_from_key(32, 1, CONTEXT, chainKey),
    chainKey: sodium.crypto_kdf_derive_from_key(32, 2, CONTEXT, chainKey),
  };
}

export function newSenderKey(conversation: string, members: string[]): OwnSenderKey {
  const signing = sodium.crypto_sign_seed_keypair(randomBytes(32));
  return {
    conversation,
    keyId: (new DataView(randomBytes(4).buffer).getUint32(0) >>> 1) + 1,
    chainKey: randomBytes(32),
    iteration: 0,
    signing: { publicKey: signing.publicKey, privateKey: signing.privateKey },
    members: [...members].sort(),
    handedTo: [],
  };
}

export function distributionOf(key: OwnSenderKey): SenderKeyDistribution {
  return {
    conversation: key.conversation,
    keyId: key.keyId,
    iteration: key.iteration,
    chainKey: bufferView(key.chainKey),
    signingKey: bufferView(key.signing.publicKey),
  };
}

export function peerKeyOf(sender: string, d: SenderKeyDistribution): PeerSenderKey {
  if (d.chainKey.length !== 32 || d.signingKey.length !== 32)
    throw new E2eError('E2E_MALFORMED', 'sender key of the wrong size');
  return {
    conversation: d.conversation,
    sender,
    keyId: d.keyId,
    chainKey: d.chainKey,
    iteration: d.iteration,
    signingKey: d.signingKey,
    skipped: [],
  };
}

function groupAd(ad: Uint8Array, keyId: number, iteration: number): Uint8Array {
  return concat(ad, u32(keyId), u32(iteration));
}

export function senderKeyEncrypt(key: OwnSenderKey, plaintext: Uint8Array, ad: Uint8Array): GroupCiphertext {
  const { messageKey, chainKey } = step(key.chainKey);
  const iteration = key.iteration;
  key.chainKey = chainKey;
  key.iteration += 1;
  const fullAd = groupAd(ad, key.keyId, iteration);
  const ciphertext = seal(messageKey, plaintext, fullAd);
  const signature = sodium.crypto_sign_detached(concat(fullAd, ciphertext), key.signing.privateKey);
  return { keyId: key.keyId, iteration, ciphertext: bufferView(ciphertext), signature: bufferView(signature) };
}

/** Decrypts a group message; the key changes only when it authenticates. Returns the plaintext and the new key. */
export function senderKeyDecrypt(
  current: PeerSenderKey,
  message: GroupCiphertext,
  ad: Uint8Array,
): { plaintext: Uint8Array; key: PeerSenderKey } {
  const fullAd = groupAd(ad, message.keyId, message.iteration);
  let signed: boolean;
  try {
    signed = sodium.crypto_sign_verify_detached(
      message.signature,
      concat(fullAd, message.ciphertext),
      current.signingKey,
    );
  } catch {
    signed = false;
  }
  if (!signed) throw new E2eError('E2E_BAD_SIGNATURE', 'group message signature does not verify');
  const key: PeerSenderKey = { ...current, skipped: [...current.skipped] };
  if (message.iteration < key.iteration) {
    const at = key.skipped.findIndex((s) => s.iteration === message.iteration);
    if (at < 0) throw new E2eError('E2E_REPLAYED', 'group message key already used');
    const plaintext = open(key.skipped[at]!.key, message.ciphertext, fullAd);
    key.skipped.splice(at, 1);
    return { plaintext, key };
  }
  if (message.iteration - key.iteration > MAX_GROUP_SKIP)
    throw new E2eError('E2E_REFUSED', `group message skips more than ${MAX_GROUP_SKIP} keys`);
  while (key.iteration < message.iteration) {
    const next = step(key.chainKey);
    key.skipped.push({ iteration: key.iteration, key: next.messageKey });
    key.chainKey = next.chainKey;
    key.iteration += 1;
  }
  if (key.skipped.length > MAX_GROUP_SKIPPED_KEPT) key.skipped.splice(0, key.skipped.length - MAX_GROUP_SKIPPED_KEPT);
  const { messageKey, chainKey } = step(key.chainKey);
  const plaintext = open(messageKey, message.ciphertext, fullAd);
  key.chainKey = chainKey;
  key.iteration += 1;
  return { plaintext, key };
}
