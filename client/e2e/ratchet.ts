import sodium from 'libsodium-wrappers';
import { RatchetHeader } from '../../proto/gen/im/v1/e2e.pb.ts';
import { open, seal } from './aead.ts';
import { bufferView } from '../../lib/buffer-view.ts';
import { concat, sameBytes, toBase64 } from './bytes.ts';
import { x25519Pair, type KeyPair } from './device-keys.ts';
import { E2eError } from './e2e-error.ts';
import type { Agreement } from './x3dh.ts';

/**
 * The Double Ratchet (Signal's specification) over libsodium: X25519 for the DH ratchet, BLAKE2b (generichash,
 * kdf) for the root and chain KDFs, XChaCha20-Poly1305 for messages. Each message key is used once and forgotten,
 * which is what gives forward secrecy; every reply brings a new DH step, which heals a compromise.
 */
export interface RatchetState {
  rootKey: Uint8Array;
  self: KeyPair;
  remote?: Uint8Array;
  sendKey?: Uint8Array;
  sendN: number;
  recvKey?: Uint8Array;
  recvN: number;
  previousSendN: number;
  /** Keys of messages not yet arrived, oldest first: "<remote dh, base64>:<n>" -> key. */
  skipped: { id: string; key: Uint8Array }[];
  /** X3DH's associated data: both identity keys. */
  ad: Uint8Array;
}

/** At most this many keys are skipped in one chain (a header asking for more is refused)... */
export const MAX_SKIP = 1000;
/** ...and at most this many are kept in all, the oldest dropped first. */
export const MAX_SKIPPED_KEPT = 2000;

const CHAIN_CONTEXT = 'imchain_';

function rootStep(rootKey: Uint8Array, dhOut: Uint8Array): { rootKey: Uint8Array; chainKey: Uint8Array } {
  const out = sodium.crypto_generichash(64, dhOut, rootKey);
  return { rootKey: out.slice(0, 32), chainKey: out.slice(32) };
}

function chainStep(chainKey: Uint8Array): { messageKey: Uint8Array; chainKey: Uint8Array } {
  return {
    messageKey: sodium.crypto_kdf_derive_from_key(32, 1, CHAIN_CONTEXT, chainKey),
    chainKey: sodium.crypto_kdf_derive_from_key(32, 2, CHAIN_CONTEXT, chainKey),
  };
}

/** The initiator's state: it can send at once, to the recipient's signed prekey. */
export function initiatorState(agreement: Agreement, remoteRatchetKey: Uint8Array): RatchetState {
  const self = x25519Pair();
  const { rootKey, chainKey } = rootStep(agreement.secret, sodium.crypto_scalarmult(self.privateKey, remoteRatchetKey));
  return {
    rootKey,
    self,
    remote: remoteRatchetKey,
    sendKey: chainKey,
    sendN: 0,
    recvN: 0,
    previousSendN: 0,
    skipped: [],
    ad: agreement.ad,
  };
}

/** The recipient's state: it sends only after the initiator's first message has brought a DH step. */
export function responderState(agreement: Agreement, ratchetPair: KeyPair): RatchetState {
  return {
    rootKey: agreement.secret,
    self: ratchetPair,
    sendN: 0,
    recvN: 0,
    previousSendN: 0,
    skipped: [],
    ad: agreement.ad,
  };
}

/** Encrypts one message (advancing the sending chain); `ad` binds it to its context (conversation, devices, id). */
export function ratchetEncrypt(
  state: RatchetState,
  plaintext: Uint8Array,
  ad: Uint8Array,
): { header: Uint8Array; ciphertext: Uint8Array } {
  if (!state.sendKey) throw new E2eError('E2E_NO_SESSION', 'session cannot send before it has received');
  const { messageKey, chainKey } = chainStep(state.sendKey);
  const header = RatchetHeader.encode({
    dh: bufferView(state.self.publicKey),
    previousChainLength: state.previousSendN,
    n: state.sendN,
  }).finish();
  state.sendKey = chainKey;
  state.sendN += 1;
  return { header, ciphertext: seal(messageKey, plaintext, concat(ad, state.ad, header)) };
}

/**
 * Decrypts one message. The state is changed only when it authenticates: a forged or replayed message leaves the
 * session as it was. Returns the plaintext and the new state.
 */
export function ratchetDecrypt(
  current: RatchetState,
  headerBytes: Uint8Array,
  ciphertext: Uint8Array,
  ad: Uint8Array,
): { plaintext: Uint8Array; state: RatchetState } {
  const header = decodeHeader(headerBytes);
  const state = copyState(current);
  const fullAd = concat(ad, state.ad, headerBytes);
  const id = state.skipped.length > 0 ? skippedId(header.dh, header.n) : '';
  const at = id === '' ? -1 : state.skipped.findIndex((s) => s.id === id);
  if (at >= 0) {
    const plaintext = open(state.skipped[at]!.key, ciphertext, fullAd);
    state.skipped.splice(at, 1);
    return { plaintext, state };
  }
  if (!state.remote || !sameBytes(header.dh, state.remote)) {
    skipUntil(state, header.previousChainLength);
    dhStep(state, header.dh);
  }
  if (header.n < state.recvN) throw new E2eError('E2E_REPLAYED', 'message key already used');
  skipUntil(state, header.n);
  const { messageKey, chainKey } = chainStep(state.recvKey!);
  const plaintext = open(messageKey, ciphertext, fullAd);
  state.recvKey = chainKey;
  state.recvN += 1;
  return { plaintext, state };
}

function decodeHeader(bytes: Uint8Array): RatchetHeader {
  let header: RatchetHeader;
  try {
    header = RatchetHeader.decode(bytes);
  } catch {
    throw new E2eError('E2E_MALFORMED', 'ratchet header does not decode');
  }
  if (header.dh.length !== 32) throw new E2eError('E2E_MALFORMED', 'ratchet key of the wrong size');
  return header;
}

function skippedId(dh: Uint8Array, n: number): string {
  return `${toBase64(dh)}:${n}`;
}

function skipUntil(state: RatchetState, until: number): void {
  if (!state.recvKey || !state.remote) return;
  if (until - state.recvN > MAX_SKIP) throw new E2eError('E2E_REFUSED', `header skips more than ${MAX_SKIP} messages`);
  while (state.recvN < until) {
    const { messageKey, chainKey } = chainStep(state.recvKey);
    state.skipped.push({ id: skippedId(state.remote, state.recvN), key: messageKey });
    state.recvKey = chainKey;
    state.recvN += 1;
  }
  if (state.skipped.length > MAX_SKIPPED_KEPT) state.skipped.splice(0, state.skipped.length - MAX_SKIPPED_KEPT);
}

function dhStep(state: RatchetState, remote: Uint8Array): void {
  state.previousSendN = state.sendN;
  state.sendN = 0;
  state.recvN = 0;
  state.remote = remote;
  const recv = rootStep(state.rootKey, sodium.crypto_scalarmult(state.self.privateKey, remote));
  state.recvKey = recv.chainKey;
  state.self = x25519Pair();
  const send = rootStep(recv.rootKey, sodium.crypto_scalarmult(state.self.privateKey, remote));
  state.rootKey = send.rootKey;
  state.sendKey = send.chainKey;
}

function copyState(s: RatchetState): RatchetState {
  return { ...s, self: { ...s.self }, skipped: [...s.skipped] };
}
