/**
 * What an identity key signs when it vouches for one of its device's X25519 keys (a signed prekey or a fallback
 * key): a domain label, the key's id and the key. The server checks these at upload; clients check them again.
 */
export function signedKeyMessage(id: number, publicKey: Uint8Array): Uint8Array {
  const label = new TextEncoder().encode('im.e2e.v1 signed key');
  const out = new Uint8Array(label.length + 4 + publicKey.length);
  out.set(label, 0);
  new DataView(out.buffer).setUint32(label.length, id >>> 0);
  out.set(publicKey, label.length + 4);
  return out;
}

/** The content type of an end-to-end encrypted body (an E2eEnvelope): the server never opens, indexes or previews it. */
export const E2E_CONTENT_TYPE = 'application/x-e2e';

/** Key sizes libsodium uses: Ed25519 and X25519 public keys, Ed25519 signatures. */
export const PUBLIC_KEY_BYTES = 32;
export const SIGNATURE_BYTES = 64;
