import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { SyncKey } from '../proto/gen/im/v1/sync_key.pb.ts';
import { mutatedRepeatedly } from '../test/fuzz/mutations.ts';
import { decodedOrRefused } from '../test/fuzz/refusal.ts';
import { decodeSyncKey, encodeSyncKey, SYNC_KEY_VERSION } from './sync-key.ts';

const EPOCH = 7;
const id = fc.stringMatching(/^[A-Za-z0-9_.@-]{1,64}$/);
const seq = fc.nat({ max: Number.MAX_SAFE_INTEGER });
/**
 * Group ids as the server makes them (lowercase ULIDs, lib/ids.ts). Not any id: a key's group cursors decode into a
 * plain object, where a group named `__proto__` would be lost; no group can be named so.
 */
const groupId = fc.stringMatching(/^[0-9a-hjkmnp-tv-z]{26}$/);

/** A key this server could have issued. */
const validKey = fc.record({
  version: fc.constant(SYNC_KEY_VERSION),
  epoch: seq,
  user: id,
  inboxSeq: seq,
  systemSeq: seq,
  groups: fc.dictionary(groupId, seq, { maxKeys: 8 }),
});

/** What any key decodeSyncKey accepts must be: this user's, of this version, and with sound numbers. */
function assertUsable(key: SyncKey, user: string): void {
  assert.equal(key.version, SYNC_KEY_VERSION);
  assert.equal(key.user, user);
  for (const n of [key.epoch, key.inboxSeq, key.systemSeq, ...Object.values(key.groups)]) {
    assert.ok(Number.isSafeInteger(n) && n >= 0, `${n} is not a seq`);
  }
  encodeSyncKey(key); // and it can be given back to the client
}

const decode = (encoded: string, user: string) =>
  decodedOrRefused(() => decodeSyncKey(encoded, user, EPOCH), ['BAD_SYNC_KEY']);

describe('sync_key decoding, properties', () => {
  it('round-trips every key it could issue', () => {
    fc.assert(
      fc.property(validKey, (key) => {
        // fast-check's records have no prototype; the decoder's objects do.
        assert.deepEqual(decodeSyncKey(encodeSyncKey(key), key.user, EPOCH), { ...key, groups: { ...key.groups } });
      }),
      { numRuns: 300 },
    );
  });

  it('takes any string as a usable key of this user or refuses it with BAD_SYNC_KEY', () => {
    const base64url = fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b).toString('base64url'));
    const anyString = fc.oneof(fc.string({ maxLength: 100 }), fc.string({ unit: 'binary', maxLength: 100 }), base64url);
    fc.assert(
      fc.property(anyString, id, (encoded, user) => {
        const key = decode(encoded, user);
        if (key !== undefined) assertUsable(key, user);
      }),
      { numRuns: 300 },
    );
  });

  it('decodes a mutated key to a usable key of this user or refuses it', () => {
    const mutation = validKey.chain((key) =>
      fc.tuple(fc.constant(key.user), mutatedRepeatedly(SyncKey.encode(key).finish())),
    );
    fc.assert(
      fc.property(mutation, ([user, bytes]) => {
        const key = decode(Buffer.from(bytes).toString('base64url'), user);
        if (key !== undefined) assertUsable(key, user);
      }),
      { numRuns: 500 },
    );
  });

  it('never takes one user’s key for another’s', () => {
    fc.assert(
      fc.property(validKey, id, (key, other) => {
        fc.pre(other !== key.user);
        assert.equal(decode(encodeSyncKey(key), other), undefined);
      }),
      { numRuns: 200 },
    );
  });
});
