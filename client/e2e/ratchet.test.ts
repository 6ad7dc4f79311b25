import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { utf8 } from './bytes.ts';
import { newDeviceKeys, publicSignedKey } from './device-keys.ts';
import { E2eError } from './e2e-error.ts';
import {
  MAX_SKIP,
  ratchetDecrypt,
  ratchetEncrypt,
  initiatorState,
  responderState,
  type RatchetState,
} from './ratchet.ts';
import { sodiumReady } from './bytes.ts';
import { initiate, respond } from './x3dh.ts';

before(() => sodiumReady);

const AD = utf8('context');

/** A session between two fresh devices, the initiator's first message already opened by the responder. */
function pair(): { alice: RatchetState; bob: RatchetState } {
  const aliceKeys = newDeviceKeys();
  const bobKeys = newDeviceKeys();
  const bundle = {
    user: 'bob',
    device: 'b',
    identityKey: Buffer.from(bobKeys.identity.publicKey),
    signedPrekey: publicSignedKey(bobKeys.signedPrekey),
    fallbackKey: publicSignedKey(bobKeys.fallback),
  };
  const { agreement, header, remoteRatchetKey } = initiate(aliceKeys.identity, bundle);
  const alice = initiatorState(agreement, remoteRatchetKey);
  const theirs = respond(bobKeys, header);
  assert.deepEqual(theirs.agreement.secret, agreement.secret, 'both sides agree');
  const first = ratchetEncrypt(alice, utf8('hello'), AD);
  const opened = ratchetDecrypt(
    responderState(theirs.agreement, theirs.ratchetPair),
    first.header,
    first.ciphertext,
    AD,
  );
  return { alice, bob: opened.state };
}

const text = (bytes: Uint8Array) => Buffer.from(bytes).toString();

test('a forged message leaves the session as it was', () => {
  const { alice, bob } = pair();
  const m = ratchetEncrypt(alice, utf8('real'), AD);
  const forged = Uint8Array.from(m.ciphertext);
  forged[30]! ^= 0xff;
  assert.throws(
    () => ratchetDecrypt(bob, m.header, forged, AD),
    (e: unknown) => e instanceof E2eError && e.code === 'E2E_REFUSED',
  );
  assert.throws(() => ratchetDecrypt(bob, m.header, m.ciphertext, utf8('other context')));
  assert.equal(text(ratchetDecrypt(bob, m.header, m.ciphertext, AD).plaintext), 'real');
});

test('each reply is a DH step, and late messages of an earlier chain still open from their skipped keys', () => {
  let { alice, bob } = pair();
  const early = ratchetEncrypt(alice, utf8('early'), AD);
  const mid = ratchetEncrypt(alice, utf8('mid'), AD);
  bob = ratchetDecrypt(bob, mid.header, mid.ciphertext, AD).state;
  const reply = ratchetEncrypt(bob, utf8('reply'), AD);
  const r = ratchetDecrypt(alice, reply.header, reply.ciphertext, AD);
  alice = r.state;
  assert.equal(text(r.plaintext), 'reply');
  const next = ratchetEncrypt(alice, utf8('next'), AD);
  assert.notDeepEqual(next.header.subarray(0, 34), early.header.subarray(0, 34), 'a new ratchet key after the reply');
  bob = ratchetDecrypt(bob, next.header, next.ciphertext, AD).state;
  const late = ratchetDecrypt(bob, early.header, early.ciphertext, AD);
  assert.equal(text(late.plaintext), 'early');
  assert.throws(() => ratchetDecrypt(late.state, early.header, early.ciphertext, AD), 'a skipped key opens once');
});

test(`a header that skips more than ${MAX_SKIP} keys is refused, and ${MAX_SKIP} are kept`, () => {
  const { alice, bob } = pair();
  const skipped = [];
  for (let i = 0; i <= MAX_SKIP + 1; i++) skipped.push(ratchetEncrypt(alice, utf8(`m${i}`), AD));
  const tooFar = skipped[MAX_SKIP + 1]!;
  assert.throws(
    () => ratchetDecrypt(bob, tooFar.header, tooFar.ciphertext, AD),
    (e: unknown) => e instanceof E2eError && e.code === 'E2E_REFUSED',
  );
  const atLimit = skipped[MAX_SKIP]!;
  const opened = ratchetDecrypt(bob, atLimit.header, atLimit.ciphertext, AD);
  assert.equal(opened.state.skipped.length, MAX_SKIP);
  assert.equal(text(ratchetDecrypt(opened.state, skipped[0]!.header, skipped[0]!.ciphertext, AD).plaintext), 'm0');
});
