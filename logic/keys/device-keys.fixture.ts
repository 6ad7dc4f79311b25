import sodium from 'libsodium-wrappers';
import type { KeyUpload, OneTimeKey, SignedKey } from '../../proto/gen/im/v1/e2e.pb.ts';
import { signedKeyMessage } from '../../lib/e2e-keys.ts';

/** A device's keys made with libsodium, as a client makes them (tests): uploads of them, and others' to compare. */
export interface TestDevice {
  identityKey: Buffer;
  /** An X25519 key signed by this device's identity key. */
  signed(id: number): SignedKey;
  /** One-time keys with ids from, from + 1, ... */
  oneTime(from: number, count: number): OneTimeKey[];
  /** A first upload: signed prekey 1, fallback key 2 and `count` one-time keys from id 1. */
  firstUpload(count: number): KeyUpload;
}

export async function testDevice(): Promise<TestDevice> {
  await sodium.ready;
  const identity = sodium.crypto_sign_keypair();
  const x25519 = () => Buffer.from(sodium.crypto_box_keypair().publicKey);
  const signed = (id: number): SignedKey => {
    const publicKey = x25519();
    const signature = sodium.crypto_sign_detached(signedKeyMessage(id, publicKey), identity.privateKey);
    return { id, publicKey, signature: Buffer.from(signature) };
  };
  const oneTime = (from: number, count: number) =>
    Array.from({ length: count }, (_, i) => ({ id: from + i, publicKey: x25519() }));
  const identityKey = Buffer.from(identity.publicKey);
  return {
    identityKey,
    signed,
    oneTime,
    firstUpload: (count) => ({
      identityKey,
      signedPrekey: signed(1),
      fallbackKey: signed(2),
      oneTimeKeys: oneTime(1, count),
    }),
  };
}
