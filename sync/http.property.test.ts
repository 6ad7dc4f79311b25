import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { SyncRequest, SyncResponse } from '../proto/gen/im/v1/client.pb.ts';
import { GetDiffRequest } from '../proto/gen/im/v1/services.pb.ts';
import { anyTokenIsAlice, assertAnswered, callApi } from '../test/fuzz/http-target.ts';
import { anyBody, mutatedJsonAny } from '../test/fuzz/json-mutations.ts';
import { mutatedAny } from '../test/fuzz/mutations.ts';
import { syncHttpHandler, SYNC_HTTP_PATH } from './http.ts';
import { decodeSyncKey, encodeSyncKey, initialKey } from './sync-key.ts';

const EPOCH = 3;
const CODES = ['INVALID_ARGUMENT', 'BAD_FRAME', 'BAD_SYNC_KEY'] as const;
const aliceKey = encodeSyncKey({ ...initialKey('alice', EPOCH), inboxSeq: 42 });
const syncKey = fc.oneof(fc.constant(''), fc.constant(aliceKey), fc.string({ maxLength: 40 }));
const limit = fc.nat({ max: 0xffff_ffff });

describe('POST /v1/sync bodies, properties', () => {
  const asked: GetDiffRequest[] = [];
  // What sync does with a request: it goes over gRPC in cluster mode (so it must encode) and its key is decoded.
  const getDiff = (r: GetDiffRequest) => {
    GetDiffRequest.encode(r).finish();
    decodeSyncKey(r.syncKey, r.user, EPOCH);
    asked.push(r);
    return Promise.resolve(SyncResponse.fromPartial({ syncKey: 'next' }));
  };
  const handler = syncHttpHandler({ getDiff }, anyTokenIsAlice);

  const post = (body: Uint8Array, protobuf = false) =>
    callApi(handler, {
      method: 'POST',
      url: SYNC_HTTP_PATH,
      headers: { authorization: 'Bearer t', ...(protobuf ? { 'content-type': 'application/x-protobuf' } : {}) },
      body,
    });

  it('passes every valid JSON and protobuf body on as it was sent', async () => {
    await fc.assert(
      fc.asyncProperty(
        syncKey.filter((k) => k === '' || k === aliceKey),
        limit,
        fc.boolean(),
        async (k, l, pb) => {
          const body = pb
            ? SyncRequest.encode({ syncKey: k, limit: l }).finish()
            : Buffer.from(JSON.stringify({ sync_key: k, limit: l }));
          assert.equal((await post(body, pb)).status, 200);
          assert.deepEqual(asked.at(-1), { user: 'alice', device: 'phone', syncKey: k, limit: l });
        },
      ),
      { numRuns: 100 },
    );
  });

  it('caps a JSON limit past uint32 (sync caps it anyway) instead of failing to pass it on: a 500 once', async () => {
    for (const huge of [2 ** 32, 2 ** 53, 1e300]) {
      assert.equal((await post(Buffer.from(JSON.stringify({ limit: huge })))).status, 200);
      assert.equal(asked.at(-1)?.limit, 0xffff_ffff);
    }
  });

  it('answers any JSON body, and mutations of valid ones, with 200 or a 4xx naming its code', async () => {
    // Limits past uint32 too: JSON numbers have no such bound, and one past it once escaped as a 500.
    const anyLimit = fc.oneof(limit, fc.nat({ max: Number.MAX_SAFE_INTEGER }));
    const valid = fc.record({ sync_key: syncKey, limit: anyLimit }, { requiredKeys: [] });
    await fc.assert(
      fc.asyncProperty(fc.oneof(anyBody, mutatedJsonAny(valid)), async (body) => {
        assertAnswered(await post(body), CODES);
      }),
      { numRuns: 300 },
    );
  });

  it('answers any protobuf body, and mutations of valid ones, with 200 or a 4xx naming its code', async () => {
    const valid = fc.record({ syncKey, limit }).map((r) => SyncRequest.encode(r).finish());
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.uint8Array({ maxLength: 200 }), mutatedAny(valid)), async (body) => {
        assertAnswered(await post(body, true), CODES);
      }),
      { numRuns: 300 },
    );
  });
});
