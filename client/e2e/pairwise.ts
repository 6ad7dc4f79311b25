import type { DeviceBundle, DeviceCiphertext, PrekeyHeader } from '../../proto/gen/im/v1/e2e.pb.ts';
import { bufferView } from '../../lib/buffer-view.ts';
import { sameBytes } from './bytes.ts';
import { E2eError } from './e2e-error.ts';
import { initiatorState, ratchetDecrypt, ratchetEncrypt, responderState } from './ratchet.ts';
import type { E2eState, Session } from './state.ts';
import { initiate, respond } from './x3dh.ts';

/** Sessions kept per device: the active one and a few older ones for messages still on the way. */
const SESSIONS_KEPT = 3;

export function address(user: string, device: string): string {
  return `${user}/${device}`;
}

/** Starts a session with a device from its bundle (X3DH as initiator) and makes it the one to send on. */
export function startSession(state: E2eState, bundle: DeviceBundle): void {
  const { agreement, header, remoteRatchetKey } = initiate(state.keys.identity, bundle);
  const session: Session = {
    ratchet: initiatorState(agreement, remoteRatchetKey),
    baseKey: header.ephemeralKey,
    pendingPrekey: header,
  };
  addSession(state, address(bundle.user, bundle.device), session);
}

function addSession(state: E2eState, at: string, session: Session): void {
  state.sessions[at] = [session, ...(state.sessions[at] ?? [])].slice(0, SESSIONS_KEPT);
}

/** Encrypts for one device on its active session; the caller has made sure one exists. */
export function encryptFor(
  state: E2eState,
  to: { user: string; device: string },
  plaintext: Uint8Array,
  ad: Uint8Array,
): DeviceCiphertext {
  const session = state.sessions[address(to.user, to.device)]?.[0];
  if (!session) throw new E2eError('E2E_NO_SESSION', `no session with ${address(to.user, to.device)}`);
  const { header, ciphertext } = ratchetEncrypt(session.ratchet, plaintext, ad);
  return {
    user: to.user,
    device: to.device,
    prekey: session.pendingPrekey,
    header: bufferView(header),
    ciphertext: bufferView(ciphertext),
  };
}

/**
 * Decrypts a ciphertext from `from` ("user/device"). A first message (with a prekey header) starts the session
 * it names, once; any other tries the sessions kept, and the one that opens it becomes the one to send on.
 * `onNewIdentity` hears of a device whose identity key is not the one trusted so far.
 */
export function decryptFrom(
  state: E2eState,
  from: string,
  entry: DeviceCiphertext,
  ad: Uint8Array,
  onNewIdentity: (from: string, identityKey: Uint8Array) => void,
): Uint8Array {
  const sessions = state.sessions[from] ?? [];
  const prekey = entry.prekey;
  if (prekey) {
    const known = sessions.findIndex((s) => sameBytes(s.baseKey, prekey.ephemeralKey));
    if (known < 0) return openFirst(state, from, prekey, entry, ad, onNewIdentity);
    return openOn(state, from, known, entry, ad);
  }
  // The error is made only when no session opens it: an Error captures a stack, which costs more than the open.
  let last: Error | undefined;
  for (let i = 0; i < sessions.length; i++) {
    try {
      return openOn(state, from, i, entry, ad);
    } catch (err) {
      last = err instanceof Error ? err : new Error(String(err));
    }
  }
  throw last ?? new E2eError('E2E_NO_SESSION', `no session with ${from}`);
}

function openOn(state: E2eState, from: string, index: number, entry: DeviceCiphertext, ad: Uint8Array): Uint8Array {
  const sessions = state.sessions[from]!;
  const session = sessions[index]!;
  const { plaintext, state: ratchet } = ratchetDecrypt(session.ratchet, entry.header, entry.ciphertext, ad);
  // The other side answered on this session: it has it, so first-message headers are no longer needed.
  sessions.splice(index, 1);
  sessions.unshift({ ratchet, baseKey: session.baseKey });
  return plaintext;
}

function openFirst(
  state: E2eState,
  from: string,
  prekey: PrekeyHeader,
  entry: DeviceCiphertext,
  ad: Uint8Array,
  onNewIdentity: (from: string, identityKey: Uint8Array) => void,
): Uint8Array {
  if (prekey.identityKey.length !== 32) throw new E2eError('E2E_MALFORMED', 'identity key of the wrong size');
  const { agreement, ratchetPair, oneTimeKeyId } = respond(state.keys, prekey);
  const { plaintext, state: ratchet } = ratchetDecrypt(
    responderState(agreement, ratchetPair),
    entry.header,
    entry.ciphertext,
    ad,
  );
  // Only now, with a message that authenticates under the claimed identity, is anything kept.
  const trusted = state.identities[from];
  if (!trusted || !sameBytes(trusted, prekey.identityKey)) {
    if (trusted) delete state.sessions[from];
    state.identities[from] = prekey.identityKey;
    if (trusted) onNewIdentity(from, prekey.identityKey);
  }
  if (oneTimeKeyId !== 0) state.keys.oneTimeKeys = state.keys.oneTimeKeys.filter((k) => k.id !== oneTimeKeyId);
  else state.fallbackUsed = true;
  addSession(state, from, { ratchet, baseKey: prekey.ephemeralKey });
  return plaintext;
}
