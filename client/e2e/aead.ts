import sodium from 'libsodium-wrappers';
import { concat, randomBytes } from './bytes.ts';
import { E2eError } from './e2e-error.ts';

const NONCE_BYTES = 24;

/** XChaCha20-Poly1305 (IETF) with a random nonce, which leads the output. */
export function seal(key: Uint8Array, plaintext: Uint8Array, ad: Uint8Array): Uint8Array {
  const nonce = randomBytes(NONCE_BYTES);
  return concat(nonce, sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(plaintext, ad, null, nonce, key));
}

/** The plaintext of `sealed`, or E2E_REFUSED when it was not made with this key and associated data. */
export function open(key: Uint8Array, sealed: Uint8Array, ad: Uint8Array): Uint8Array {
  if (sealed.length < NONCE_BYTES + sodium.crypto_aead_xchacha20poly1305_ietf_ABYTES)
    throw new E2eError('E2E_MALFORMED', 'ciphertext too short');
  try {
    const nonce = sealed.subarray(0, NONCE_BYTES);
    return sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(null, sealed.subarray(NONCE_BYTES), ad, nonce, key);
  } catch {
    throw new E2eError('E2E_REFUSED', 'ciphertext does not authenticate (tampered, or not for this key)');
  }
}
