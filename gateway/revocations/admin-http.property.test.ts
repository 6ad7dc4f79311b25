import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { createLogger } from '../../lib/logger.ts';
import { assertAnswered, callApi } from '../../test/fuzz/http-target.ts';
import { anyBody, mutatedJsonAny } from '../../test/fuzz/json-mutations.ts';
import { revocationsHttpHandler } from './admin-http.ts';
import { MemoryRevocationStore } from './revocation-store.memory.ts';
import { Revocations } from './revocations.ts';

const OPERATOR = 'operator-token';
const PATH = '/v1/admin/auth/revocations';
const id = fc.stringMatching(/^[A-Za-z0-9_.@-]{1,64}$/);

describe('POST /v1/admin/auth/revocations bodies, properties', () => {
  const store = new MemoryRevocationStore();
  const revocations = new Revocations(store, { keepMs: 3_600_000, refreshMs: 60_000 }, createLogger('silent'));
  const handler = revocationsHttpHandler(revocations, store, OPERATOR);
  const post = (body: Uint8Array) =>
    callApi(handler, { method: 'POST', url: PATH, headers: { authorization: `Bearer ${OPERATOR}` }, body });
  const valid = fc.record({ user: id, device: id }, { requiredKeys: ['user'] });

  it('revokes what every valid body names: a token of that device issued before is refused', async () => {
    await fc.assert(
      fc.asyncProperty(valid, id, async (body, otherDevice) => {
        const issuedSec = Math.floor(Date.now() / 1000) - 1;
        assert.equal((await post(Buffer.from(JSON.stringify(body)))).status, 200);
        assert.ok(revocations.revoked(body.user, body.device ?? otherDevice, issuedSec));
      }),
      { numRuns: 100 },
    );
  });

  it('answers any body, and mutations of valid ones, with 200 or a 400 INVALID_ARGUMENT', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(anyBody, mutatedJsonAny(valid)), async (body) => {
        assertAnswered(await post(body), ['INVALID_ARGUMENT']);
      }),
      { numRuns: 300 },
    );
  });
});
