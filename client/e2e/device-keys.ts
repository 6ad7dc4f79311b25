import sodium from 'libsodium-wrappers';
import type { KeyUpload, OneTimeKey, SignedKey } from '../../proto/gen/im/v1/e2e.pb.ts';
import { signedKeyMessage } from '../../lib/e2e-keys.ts';
import { bufferView } from '../../lib/buffer-view.ts';
import { randomBytes } from './bytes.ts';

export interface KeyPair {
  publicKey: Uint8Array;
  privateKey: Uint8Array;
}

/** An X25519 key pair vouched for by the identity key. */
export interface SignedKeyPair {
  id: number;
  pair: KeyPair;
  signature: Uint8Array;
  createdAtMs: number;
}

/** Everything secret a device holds for the key directory. Only the public halves ever leave the device. */
export interface DeviceKeys {
  /** Ed25519: signs the device's other keys; its X25519 form takes part in X3DH. */
  identity: KeyPair;
  signedPrekey: SignedKeyPair;
  /** Replaced ones, kept a while for first messages still on the way. */
  oldSignedPrekeys: SignedKeyPair[];
  fallback: SignedKeyPair;
  oldFallbacks: SignedKeyPair[];
  /** Unclaimed (as far as this device knows) one-time keys by id; a key is deleted once a message used it. */
  oneTimeKeys: { id: number; pair: KeyPair }[];
  /** One-time keys made but not yet accepted by the server. */
  unpublished: number[];
  nextKeyId: number;
}

/** Signed prekeys are replaced this often (the server may hand the old one out a little longer). */
export const SIGNED_PREKEY_LIFETIME_MS = 7 * 24 * 3600_000;
const OLD_KEYS_KEPT = 3;

export function newDeviceKeys(): DeviceKeys {
  const identity = toPair(sodium.crypto_sign_seed_keypair(randomBytes(32)));
  const keys: DeviceKeys = {
    identity,
    signedPrekey: signedKeyPair(identity, 1),
    oldSignedPrekeys: [],
    fallback: signedKeyPair(identity, 2),
    oldFallbacks: [],
    oneTimeKeys: [],
    unpublished: [],
    nextKeyId: 3,
  };
  return keys;
}

function toPair(k: { publicKey: Uint8Array; privateKey: Uint8Array }): KeyPair {
  return { publicKey: k.publicKey, privateKey: k.privateKey };
}

export function x25519Pair(): KeyPair {
  return toPair(sodium.crypto_box_seed_keypair(randomBytes(32)));
}

function signedKeyPair(identity: KeyPair, id: number): SignedKeyPair {
  const pair = x25519Pair();
  const signature = sodium.crypto_sign_detached(signedKeyMessage(id, pair.publicKey), identity.privateKey);
  return { id, pair, signature, createdAtMs: Date.now() };
}

export function publicSignedKey(k: SignedKeyPair): SignedKey {
  return { id: k.id, publicKey: bufferView(k.pair.publicKey), signature: bufferView(k.signature) };
}

/** Makes `count` new one-time keys, remembered as unpublished until the server takes them. */
export function addOneTimeKeys(keys: DeviceKeys, count: number): void {
  for (let i = 0; i < count; i++) {
    const id = keys.nextKeyId++;
    keys.oneTimeKeys.push({ id, pair: x25519Pair() });
    keys.unpublished.push(id);
  }
}

/** Replaces the fallback key (after it was handed out) and, when old enough, the signed prekey. */
export function rotate(keys: DeviceKeys, what: { fallback: boolean; nowMs: number }): { prekey: boolean } {
  if (what.fallback) {
    keys.oldFallbacks = [keys.fallback, ...keys.oldFallbacks].slice(0, OLD_KEYS_KEPT);
    keys.fallback = signedKeyPair(keys.identity, keys.nextKeyId++);
  }
  const prekey = what.nowMs - keys.signedPrekey.createdAtMs > SIGNED_PREKEY_LIFETIME_MS;
  if (prekey) {
    keys.oldSignedPrekeys = [keys.signedPrekey, ...keys.oldSignedPrekeys].slice(0, OLD_KEYS_KEPT);
    keys.signedPrekey = signedKeyPair(keys.identity, keys.nextKeyId++);
  }
  return { prekey };
}

/**
 * The upload that publishes the one-time keys the server does not have yet, and the signed prekey and fallback key
 * when asked (`all`: everything, as a first upload or after the server lost the device's keys).
 */
export function uploadOf(keys: DeviceKeys, parts: { all?: boolean; prekey?: boolean; fallback?: boolean }): KeyUpload {
  const unpublished = new Set(keys.unpublished);
  const oneTimeKeys: OneTimeKey[] = keys.oneTimeKeys
    .filter((k) => parts.all === true || unpublished.has(k.id))
    .map((k) => ({ id: k.id, publicKey: bufferView(k.pair.publicKey) }));
  return {
    identityKey: bufferView(keys.identity.publicKey),
    signedPrekey: parts.all === true || parts.prekey === true ? publicSignedKey(keys.signedPrekey) : undefined,
    fallbackKey: parts.all === true || parts.fallback === true ? publicSignedKey(keys.fallback) : undefined,
    oneTimeKeys,
  };
}

export function findSignedPrekey(keys: DeviceKeys, id: number): SignedKeyPair | undefined {
  return [keys.signedPrekey, ...keys.oldSignedPrekeys].find((k) => k.id === id);
}

export function findFallback(keys: DeviceKeys, id: number): SignedKeyPair | undefined {
  return [keys.fallback, ...keys.oldFallbacks].find((k) => k.id === id);
}

/** True when `signed` is `identityKey`'s signature of the key (what a bundle's keys must carry). */
export function verifySignedKey(identityKey: Uint8Array, signed: SignedKey): boolean {
  if (signed.publicKey.length !== 32 || signed.signature.length !== 64 || identityKey.length !== 32) return false;
  try {
    return sodium.crypto_sign_verify_detached(
      signed.signature,
      signedKeyMessage(signed.id, signed.publicKey),
      identityKey,
    );
  } catch {
    return false;
  }
}
