import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { before, describe, it } from 'node:test';
import sodium from 'libsodium-wrappers';
import { tokenSigner, tokenVerifier, type TokenClaims, type TokenVerifier } from './token.ts';

const seed = randomBytes(32);

/** A token over any claims, signed with the right key: what a signer without checks would have minted. */
function forge(claims: Partial<TokenClaims>): string {
  const now = Math.floor(Date.now() / 1000);
  const all = { iss: 'im-dev', aud: 'im', sub: 'alice', dev: 'phone', iat: now, exp: now + 60, ...claims };
  const signed = 'v1.' + Buffer.from(JSON.stringify(all)).toString('base64url');
  const { privateKey } = sodium.crypto_sign_seed_keypair(seed);
  return `${signed}.${Buffer.from(sodium.crypto_sign_detached(Buffer.from(signed), privateKey)).toString('base64url')}`;
}

const BAD_IDS = ['', 'a:b', 'x'.repeat(65), 'x'.repeat(100), 'has space', 'a\u0000b', 'é'];

describe('tokens', () => {
  let verify: TokenVerifier;
  before(async () => {
    await sodium.ready;
    verify = await tokenVerifier(sodium.crypto_sign_seed_keypair(seed).publicKey);
  });

  it('verifies what the signer signed and returns its claims', async () => {
    const signer = await tokenSigner(seed);
    const claims = verify(signer.sign('alice', 'phone', 60));
    assert.equal(claims.sub, 'alice');
    assert.equal(claims.dev, 'phone');
  });

  it('refuses a token whose user id is empty, too long or has a ":" as UNAUTHORIZED with a short message', () => {
    for (const sub of BAD_IDS) {
      assert.throws(
        () => verify(forge({ sub })),
        (err: Error & { code?: string }) => {
          assert.equal(err.code, 'UNAUTHORIZED', JSON.stringify(sub));
          assert.equal(err.message, 'token subject is not a valid user id');
          return true;
        },
      );
    }
  });

  it('refuses a token whose device id is empty, too long or has a ":" as UNAUTHORIZED', () => {
    for (const dev of BAD_IDS) {
      assert.throws(() => verify(forge({ dev })), {
        code: 'UNAUTHORIZED',
        message: 'token device is not a valid device id',
      });
    }
  });

  it('refuses claims that are not an object of the expected types', () => {
    for (const claims of [{ sub: 7 }, { exp: '9' }, { dev: null }] as unknown as Partial<TokenClaims>[]) {
      assert.throws(() => verify(forge(claims)), { code: 'UNAUTHORIZED', message: 'malformed token claims' });
    }
  });

  it('refuses to sign a user or device id the verifier would refuse', async () => {
    const signer = await tokenSigner(seed);
    for (const id of BAD_IDS) {
      assert.throws(() => signer.sign(id, 'phone', 60), { code: 'INVALID_ARGUMENT', message: /^user id must be/ });
      assert.throws(() => signer.sign('alice', id, 60), { code: 'INVALID_ARGUMENT', message: /^device id must be/ });
    }
  });

  it('refuses an expired token with TOKEN_EXPIRED and a foreign one as UNAUTHORIZED', async () => {
    const signer = await tokenSigner(seed);
    assert.throws(() => verify(signer.sign('alice', 'phone', -120)), { code: 'TOKEN_EXPIRED' });
    const stranger = await tokenSigner(randomBytes(32));
    assert.throws(() => verify(stranger.sign('alice', 'phone', 60)), { code: 'UNAUTHORIZED' });
  });
});
