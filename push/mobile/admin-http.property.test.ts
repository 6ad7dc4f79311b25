import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ListDeadLettersRequest, ReplayDeadLettersRequest } from '../../proto/gen/im/v1/services.pb.ts';
import { assertAnswered, callApi } from '../../test/fuzz/http-target.ts';
import { anyBody, mutatedJsonAny } from '../../test/fuzz/json-mutations.ts';
import { pushAdminHttpHandler } from './admin-http.ts';

const OPERATOR = 'operator-token';
const REPLAY = '/v1/admin/push/dead-letters/replay';
const DEAD_LETTERS = '/v1/admin/push/dead-letters';

describe('the push admin API’s input, properties', () => {
  const replayed: string[][] = [];
  const listed: ListDeadLettersRequest[] = [];
  // What the push service does with a request: in cluster mode it goes over gRPC, so it must encode.
  const handler = pushAdminHttpHandler(
    {
      listDevices: () => Promise.resolve({ devices: [] }),
      listDeadLetters: (r) => {
        ListDeadLettersRequest.encode(r).finish();
        listed.push(r);
        return Promise.resolve({ letters: [], next: '' });
      },
      replayDeadLetters: (r) => {
        ReplayDeadLettersRequest.encode(r).finish();
        replayed.push(r.ids);
        return Promise.resolve({ replayed: r.ids.length });
      },
    },
    OPERATOR,
  );
  const call = (method: string, url: string, body?: Uint8Array) =>
    callApi(handler, { method, url, headers: { authorization: `Bearer ${OPERATOR}` }, ...(body ? { body } : {}) });

  const validReplay = fc.record({ ids: fc.array(fc.stringMatching(/^[0-9A-Za-z]{1,64}$/), { minLength: 1 }) });

  it('replays the ids of every valid replay body', async () => {
    await fc.assert(
      fc.asyncProperty(validReplay, async (body) => {
        assert.equal((await call('POST', REPLAY, Buffer.from(JSON.stringify(body)))).status, 200);
        assert.deepEqual(replayed.at(-1), body.ids);
      }),
      { numRuns: 100 },
    );
  });

  it('answers any replay body, and mutations of valid ones, with 200 or a 400 INVALID_ARGUMENT', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(anyBody, mutatedJsonAny(validReplay)), async (body) => {
        assertAnswered(await call('POST', REPLAY, body), ['INVALID_ARGUMENT']);
      }),
      { numRuns: 300 },
    );
  });

  it('refuses a negative or fractional limit with INVALID_ARGUMENT: it went on to push and failed there, a 500', async () => {
    for (const l of ['-3', '1.5', '1e300', '-5e-324']) {
      assert.deepEqual(await call('GET', `${DEAD_LETTERS}?limit=${l}`), { status: 400, code: 'INVALID_ARGUMENT' });
    }
    assert.equal((await call('GET', `${DEAD_LETTERS}?limit=500`)).status, 200);
    assert.equal(listed.at(-1)?.limit, 500);
  });

  it('answers a dead-letter listing with any limit, never failing to pass it on', async () => {
    const limit = fc.oneof(
      fc.nat({ max: 1000 }).map(String),
      fc.double().map(String),
      fc.integer({ min: -(2 ** 40), max: 2 ** 40 }).map(String),
      fc.string({ maxLength: 12 }),
    );
    await fc.assert(
      fc.asyncProperty(limit, async (l) => {
        assertAnswered(await call('GET', `${DEAD_LETTERS}?limit=${encodeURIComponent(l)}`), ['INVALID_ARGUMENT']);
      }),
      { numRuns: 300 },
    );
  });
});
