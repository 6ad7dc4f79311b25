import sodium from 'libsodium-wrappers';
import type { DeviceBundle, PrekeyHeader } from '../../proto/gen/im/v1/e2e.pb.ts';
import { bufferView } from '../../lib/buffer-view.ts';
import { concat, utf8 } from './bytes.ts';
import {
  findFallback,
  findSignedPrekey,
  verifySignedKey,
  x25519Pair,
  type DeviceKeys,
  type KeyPair,
} from './device-keys.ts';
import { E2eError } from './e2e-error.ts';

/** What X3DH gives both sides: the shared secret and the associated data (both identity keys, initiator's first). */
export interface Agreement {
  secret: Uint8Array;
  ad: Uint8Array;
}

const LABEL = utf8('im.e2e.v1 x3dh');
const F = new Uint8Array(32).fill(0xff);

function dh(privateKey: Uint8Array, publicKey: Uint8Array): Uint8Array {
  return sodium.crypto_scalarmult(privateKey, publicKey);
}

function edToX(publicKey: Uint8Array): Uint8Array {
  try {
    return sodium.crypto_sign_ed25519_pk_to_curve25519(publicKey);
  } catch {
    throw new E2eError('E2E_MALFORMED', 'identity key is not an Ed25519 public key');
  }
}

function derive(dhs: Uint8Array[], initiatorIdentity: Uint8Array, responderIdentity: Uint8Array): Agreement {
  return {
    secret: sodium.crypto_generichash(32, concat(LABEL, F, ...dhs), null),
    ad: concat(initiatorIdentity, responderIdentity),
  };
}

/**
 * The initiator's side (Alice): from the recipient device's bundle, after checking its signatures. Returns the
 * agreement, the header the recipient needs to repeat it, and the recipient's signed prekey, which starts the ratchet.
 */
export function initiate(
  identity: KeyPair,
  bundle: DeviceBundle,
): { agreement: Agreement; header: PrekeyHeader; remoteRatchetKey: Uint8Array } {
  const spk = bundle.signedPrekey;
  if (!spk || !verifySignedKey(bundle.identityKey, spk))
    throw new E2eError('E2E_BAD_SIGNATURE', `signed prekey of ${bundle.user}/${bundle.device} does not verify`);
  const oneTime = bundle.oneTimeKey;
  const fallback = oneTime ? undefined : bundle.fallbackKey;
  if (!oneTime && !(fallback && verifySignedKey(bundle.identityKey, fallback)))
    throw new E2eError('E2E_BAD_SIGNATURE', `fallback key of ${bundle.user}/${bundle.device} does not verify`);
  const last = (oneTime?.publicKey ?? fallback?.publicKey)!;
  if (last.length !== 32) throw new E2eError('E2E_MALFORMED', 'one-time key of the wrong size');
  const ephemeral = x25519Pair();
  const ownX = sodium.crypto_sign_ed25519_sk_to_curve25519(identity.privateKey);
  const agreement = derive(
    [
      dh(ownX, spk.publicKey),
      dh(ephemeral.privateKey, edToX(bundle.identityKey)),
      dh(ephemeral.privateKey, spk.publicKey),
      dh(ephemeral.privateKey, last),
    ],
    identity.publicKey,
    bundle.identityKey,
  );
  const header: PrekeyHeader = {
    identityKey: bufferView(identity.publicKey),
    ephemeralKey: bufferView(ephemeral.publicKey),
    signedPrekeyId: spk.id,
    oneTimeKeyId: oneTime?.id ?? 0,
    fallbackKeyId: fallback?.id ?? 0,
  };
  return { agreement, header, remoteRatchetKey: spk.publicKey };
}

/**
 * The recipient's side (Bob), from a first message's header. Returns the agreement, the signed prekey pair that
 * starts its ratchet, and the one-time key used (the caller deletes it once the message decrypts).
 */
export function respond(
  keys: DeviceKeys,
  header: PrekeyHeader,
): { agreement: Agreement; ratchetPair: KeyPair; oneTimeKeyId: number } {
  if (header.ephemeralKey.length !== 32) throw new E2eError('E2E_MALFORMED', 'ephemeral key of the wrong size');
  const spk = findSignedPrekey(keys, header.signedPrekeyId);
  if (!spk) throw new E2eError('E2E_NO_SESSION', `signed prekey ${header.signedPrekeyId} is not (or no longer) ours`);
  const last =
    header.oneTimeKeyId !== 0
      ? keys.oneTimeKeys.find((k) => k.id === header.oneTimeKeyId)?.pair
      : findFallback(keys, header.fallbackKeyId)?.pair;
  if (!last)
    throw new E2eError('E2E_NO_SESSION', 'the one-time key it names was used already (a replay) or is unknown');
  const ownX = sodium.crypto_sign_ed25519_sk_to_curve25519(keys.identity.privateKey);
  const agreement = derive(
    [
      dh(spk.pair.privateKey, edToX(header.identityKey)),
      dh(ownX, header.ephemeralKey),
      dh(spk.pair.privateKey, header.ephemeralKey),
      dh(last.privateKey, header.ephemeralKey),
    ],
    header.identityKey,
    keys.identity.publicKey,
  );
  return { agreement, ratchetPair: spk.pair, oneTimeKeyId: header.oneTimeKeyId };
}
