// Token verification against outside input. Kept apart from the other decoders' properties: the token scheme is
// the one most likely to change (issue 22 made it JWTs), and this file is the one to adapt when it does.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { CompactSign } from 'jose';
import { mutatedJson } from '../test/fuzz/json-mutations.ts';
import { mutated } from '../test/fuzz/mutations.ts';
import { settledOrRefused } from '../test/fuzz/refusal.ts';
import { isId } from './conversation.ts';
import { generateSigningKey, keysOf, publicJwk } from './token-keys.ts';
import { defaultTokenPolicy, tokenSigner, tokenVerifier, type TokenClaims, type TokenPolicy } from './token.ts';

const policy: TokenPolicy = { ...defaultTokenPolicy, maxLifetimeSec: 3600 };
const key = generateSigningKey('EdDSA', 'k1');
const verify = tokenVerifier(keysOf({ keys: [publicJwk(key)] }), policy);
const signer = tokenSigner(key, policy);
const NOW = 1_700_000_000_000;
/** What a token may be refused with: never UNAVAILABLE (the keys are local), never INTERNAL or a TypeError. */
const REFUSALS = ['UNAUTHORIZED', 'TOKEN_EXPIRED'] as const;

const id = fc.stringMatching(/^[A-Za-z0-9_.@-]{1,64}$/);
const ttl = fc.integer({ min: 1, max: policy.maxLifetimeSec });

/** Whatever a verifier accepts must hold: ids that are ids, a lifetime within the policy, not expired. */
function assertSound(claims: TokenClaims): void {
  assert.ok(isId(claims.sub) && isId(claims.dev), `ids ${claims.sub} ${claims.dev}`);
  assert.ok(claims.exp - claims.iat <= policy.maxLifetimeSec, 'lifetime within the maximum');
  assert.ok(claims.exp > NOW / 1000 - policy.clockSkewSec, 'not expired');
  assert.equal(claims.iss, policy.issuer);
  assert.equal(claims.aud, policy.audience);
}

const verified = (token: string) => settledOrRefused(() => verify(token, NOW), REFUSALS);

/** Any bytes as a JWS payload, signed with the trusted key: the claims are the only thing wrong, if anything. */
function signedPayload(payload: Uint8Array): Promise<string> {
  return new CompactSign(payload).setProtectedHeader({ alg: 'EdDSA', kid: key.kid }).sign(key.privateKey);
}

describe('user tokens, properties', () => {
  it('verifies every token it signs, to the claims signed', async () => {
    await fc.assert(
      fc.asyncProperty(id, id, ttl, async (user, device, ttlSec) => {
        const claims = await verify(signer.sign(user, device, ttlSec, NOW), NOW);
        assert.deepEqual([claims.sub, claims.dev, claims.exp - claims.iat], [user, device, ttlSec]);
      }),
      { numRuns: 200 },
    );
  });

  it('refuses any string with UNAUTHORIZED or TOKEN_EXPIRED', async () => {
    const segments = fc.array(
      fc.base64String({ maxLength: 60 }).map((s) => s.replace(/=/g, '')),
      {
        minLength: 1,
        maxLength: 5,
      },
    );
    const anyToken = fc.oneof(
      fc.string({ maxLength: 200 }),
      segments.map((s) => s.join('.')),
    );
    await fc.assert(
      fc.asyncProperty(anyToken, async (token) => assert.equal(await verified(token), undefined)),
      { numRuns: 300 },
    );
  });

  it('refuses a mutated token, or verifies it to sound claims', async () => {
    const mutation = fc
      .tuple(id, id, ttl)
      .chain(([user, device, ttlSec]) => mutated(Buffer.from(signer.sign(user, device, ttlSec, NOW))));
    await fc.assert(
      fc.asyncProperty(mutation, async (bytes) => {
        const claims = await verified(Buffer.from(bytes).toString('latin1'));
        if (claims) assertSound(claims);
      }),
      { numRuns: 300 },
    );
  });

  it('refuses correctly signed tokens with wrong or malformed claims, or verifies them to sound ones', async () => {
    const nowSec = NOW / 1000;
    const valid = fc.record({
      iss: fc.constant(policy.issuer),
      aud: fc.constant(policy.audience),
      sub: id,
      dev: id,
      iat: fc.constant(nowSec),
      exp: ttl.map((t) => nowSec + t),
    });
    await fc.assert(
      fc.asyncProperty(valid.chain(mutatedJson), async (payload) => {
        const claims = await verified(await signedPayload(payload));
        if (claims) assertSound(claims);
      }),
      { numRuns: 300 },
    );
  });
});
