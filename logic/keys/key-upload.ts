import sodium from 'libsodium-wrappers';
import type { KeyUpload, SignedKey as WireSignedKey } from '../../proto/gen/im/v1/e2e.pb.ts';
import { PUBLIC_KEY_BYTES, SIGNATURE_BYTES, signedKeyMessage } from '../../lib/e2e-keys.ts';
import { ImError } from '../../lib/errors.ts';
import type { KeyChange, OneTimeKey, SignedKey } from './key-directory.ts';

/** One-time keys one upload may carry. */
export const MAX_ONE_TIME_KEYS_PER_UPLOAD = 100;

/** An upload whose every key has the right size, a non-zero id and, where signed, a signature that verifies. */
export interface CheckedUpload extends KeyChange {
  identityKey: Uint8Array;
}

/**
 * Checks an upload before anything is stored: sizes, ids (non-zero, one-time key ids distinct) and each signed key's
 * signature by the upload's identity key. The signed prekey and the fallback key have ids of their own, so either
 * may share an id with the other or with a one-time key. Errors name the field, never a key's bytes.
 */
export async function checkUpload(upload: KeyUpload): Promise<CheckedUpload> {
  await sodium.ready;
  const identityKey = checkSize('identity_key', upload.identityKey, PUBLIC_KEY_BYTES);
  const { oneTimeKeys } = upload;
  if (oneTimeKeys.length > MAX_ONE_TIME_KEYS_PER_UPLOAD) {
    throw invalid(`an upload carries at most ${MAX_ONE_TIME_KEYS_PER_UPLOAD} one-time keys, got ${oneTimeKeys.length}`);
  }
  const ids = new Set<number>();
  const checked: OneTimeKey[] = oneTimeKeys.map((k, i) => {
    checkId(`one_time_keys[${i}].id`, k.id);
    if (ids.has(k.id)) throw invalid(`one_time_keys[${i}].id ${k.id} is in the upload twice`);
    ids.add(k.id);
    return { id: k.id, publicKey: checkSize(`one_time_keys[${i}].public_key`, k.publicKey, PUBLIC_KEY_BYTES) };
  });
  return {
    identityKey,
    oneTimeKeys: checked,
    ...(upload.signedPrekey ? { signedPrekey: checkSigned('signed_prekey', upload.signedPrekey, identityKey) } : {}),
    ...(upload.fallbackKey ? { fallbackKey: checkSigned('fallback_key', upload.fallbackKey, identityKey) } : {}),
  };
}

function checkSigned(field: string, key: WireSignedKey, identityKey: Uint8Array): SignedKey {
  checkId(`${field}.id`, key.id);
  const publicKey = checkSize(`${field}.public_key`, key.publicKey, PUBLIC_KEY_BYTES);
  const signature = checkSize(`${field}.signature`, key.signature, SIGNATURE_BYTES);
  if (!sodium.crypto_sign_verify_detached(signature, signedKeyMessage(key.id, publicKey), identityKey)) {
    throw invalid(`${field}.signature does not verify with the identity key`);
  }
  return { id: key.id, publicKey, signature };
}

function checkId(field: string, id: number): void {
  if (id === 0) throw invalid(`${field} must not be 0`);
}

/** A copy, so nothing stored shares the decoded frame's buffer. */
function checkSize(field: string, bytes: Uint8Array, size: number): Uint8Array {
  if (bytes.length !== size) throw invalid(`${field} must be ${size} bytes, got ${bytes.length}`);
  return new Uint8Array(bytes);
}

function invalid(message: string): ImError {
  return new ImError('INVALID_ARGUMENT', `key upload: ${message}`);
}
