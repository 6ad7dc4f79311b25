import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SignJWT, type JWTPayload } from 'jose';
import {
  generateSigningKey,
  keysFromFile,
  keysFromUrl,
  keysOf,
  publicJwk,
  type SigningKey,
  type TokenAlgorithm,
} from './token-keys.ts';
import { defaultTokenPolicy, tokenSigner, tokenVerifier, type TokenPolicy } from './token.ts';

const policy: TokenPolicy = { ...defaultTokenPolicy, issuer: 'https://auth.example', maxLifetimeSec: 3600 };
const keyA = generateSigningKey('EdDSA', 'a');
const keyB = generateSigningKey('EdDSA', 'b');

/** A token as an auth server using a standard library signs it (jose), over any claims and header. */
async function minted(key: SigningKey, claims: JWTPayload, header: Record<string, unknown> = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({
    iss: policy.issuer,
    aud: policy.audience,
    sub: 'alice',
    dev: 'phone',
    iat: now,
    exp: now + 60,
    ...claims,
  })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, ...header })
    .sign(key.privateKey);
}

const BAD_IDS = ['', 'a:b', 'x'.repeat(65), 'has space', 'a\u0000b', 'é'];

describe('user tokens (JWT)', () => {
  const verify = tokenVerifier(keysOf({ keys: [publicJwk(keyA)] }), policy);

  it('verifies a token signed with EdDSA, ES256 or RS256 by kid, and returns its claims', async () => {
    for (const alg of ['EdDSA', 'ES256', 'RS256'] as TokenAlgorithm[]) {
      const key = generateSigningKey(alg, `k-${alg}`);
      const claims = await tokenVerifier(keysOf({ keys: [publicJwk(key)] }), policy)(await minted(key, {}));
      assert.deepEqual([claims.sub, claims.dev, claims.iss], ['alice', 'phone', policy.issuer], alg);
    }
  });

  it('verifies what our own signer mints (the dev sign-in and the tests) with a standard verifier', async () => {
    const token = tokenSigner(keyA, policy).sign('alice', 'phone', 60);
    const [header] = token.split('.');
    assert.deepEqual(JSON.parse(Buffer.from(header!, 'base64url').toString()), { alg: 'EdDSA', kid: 'a', typ: 'JWT' });
    const claims = await verify(token);
    assert.equal(claims.sub, 'alice');
    assert.match(claims.jti ?? '', /^[\w-]{16}$/);
  });

  it('refuses an unknown kid, a wrong issuer or audience, and a key outside the set, as UNAUTHORIZED', async () => {
    const refusals: [string, string, RegExp][] = [
      ['unknown kid', await minted(keyB, {}), /unknown key/],
      ['wrong issuer', await minted(keyA, { iss: 'https://evil.example' }), /issuer not accepted/],
      ['wrong audience', await minted(keyA, { aud: 'other-app' }), /audience not accepted/],
      ['another key under a known kid', await minted(keyB, {}, { kid: 'a' }), /bad token signature/],
      ['not a JWT', 'v1.abc.def', /malformed token/],
    ];
    for (const [what, token, message] of refusals) {
      await assert.rejects(verify(token), { code: 'UNAUTHORIZED', message }, what);
    }
  });

  it('refuses a lifetime over the maximum, an expired token (TOKEN_EXPIRED) and one issued in the future', async () => {
    const now = Math.floor(Date.now() / 1000);
    await assert.rejects(verify(await minted(keyA, { exp: now + 10 * 365 * 86400 })), {
      code: 'UNAUTHORIZED',
      message: /lifetime over the maximum of 3600 s/,
    });
    await assert.rejects(verify(await minted(keyA, { iat: now - 120, exp: now - 60 })), { code: 'TOKEN_EXPIRED' });
    await assert.rejects(verify(await minted(keyA, { iat: now + 600, exp: now + 660 })), { code: 'UNAUTHORIZED' });
  });

  it('tolerates the configured clock skew, no more', async () => {
    const now = Math.floor(Date.now() / 1000);
    await verify(await minted(keyA, { iat: now - 100, exp: now - 10 }));
    await assert.rejects(verify(await minted(keyA, { iat: now - 100, exp: now - 40 })), { code: 'TOKEN_EXPIRED' });
  });

  it('refuses an algorithm it was not configured for, and an unsigned token', async () => {
    const es = generateSigningKey('ES256', 'es');
    const edOnly = tokenVerifier(keysOf({ keys: [publicJwk(es)] }), { ...policy, algorithms: ['EdDSA'] });
    await assert.rejects(edOnly(await minted(es, {})), { code: 'UNAUTHORIZED' });
    const [, payload] = (await minted(keyA, {})).split('.');
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', kid: 'a' })).toString('base64url')}.${payload}.`;
    await assert.rejects(verify(none), { code: 'UNAUTHORIZED' });
  });

  it('refuses a token without its device or with ids that are not ids, and never signs such ids', async () => {
    await assert.rejects(verify(await minted(keyA, { dev: undefined })), {
      code: 'UNAUTHORIZED',
      message: 'malformed token claims',
    });
    for (const id of BAD_IDS) {
      await assert.rejects(verify(await minted(keyA, { sub: id })), { code: 'UNAUTHORIZED' }, JSON.stringify(id));
      await assert.rejects(verify(await minted(keyA, { dev: id })), { code: 'UNAUTHORIZED' }, JSON.stringify(id));
      const signer = tokenSigner(keyA, policy);
      assert.throws(() => signer.sign(id, 'phone', 60), { code: 'INVALID_ARGUMENT', message: /^user id must be/ });
      assert.throws(() => signer.sign('alice', id, 60), { code: 'INVALID_ARGUMENT', message: /^device id must be/ });
    }
  });
});

describe('key rotation without a restart', () => {
  const dir = mkdtempSync(join(tmpdir(), 'im-jwks-'));
  const file = join(dir, 'jwks.json');
  /** Written whole and renamed into place, as an operator's deploy would. */
  const publish = (keys: SigningKey[], text?: string) => {
    writeFileSync(`${file}.new`, text ?? JSON.stringify({ keys: keys.map(publicJwk) }));
    renameSync(`${file}.new`, file);
  };

  it('verifies the old and the new key during a rollover, and stops verifying a removed key', async () => {
    publish([keyA]);
    const errors: Error[] = [];
    const verify = tokenVerifier(keysFromFile(file, { checkEveryMs: 0, onError: (e) => errors.push(e) }), policy);
    const [a, b] = [await minted(keyA, {}), await minted(keyB, {})];
    await verify(a);
    await assert.rejects(verify(b), { message: /unknown key/ });
    publish([keyA, keyB]);
    await verify(a);
    await verify(b);
    publish([keyB]);
    await assert.rejects(verify(a), { code: 'UNAUTHORIZED', message: /unknown key/ });
    await verify(b);
    publish([], '{"keys": [ half-written');
    await verify(b);
    assert.equal(errors.length, 1, 'a broken file is reported and the last good key set kept');
  });
});

describe('keys from an identity provider’s JWKS URL', () => {
  let server: Server;
  let served: SigningKey[] = [keyA];
  let fetches = 0;
  before(async () => {
    server = createServer((_req, res) => {
      fetches++;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: served.map(publicJwk) }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  after(() => server.close());

  it('fetches the set once, and again for a new kid (the provider rotated), at most once per cooldown', async () => {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
    const verify = tokenVerifier(keysFromUrl(url, { cooldownMs: 0 }), policy);
    await verify(await minted(keyA, {}));
    await verify(await minted(keyA, {}));
    assert.equal(fetches, 1);
    served = [keyA, keyB];
    await verify(await minted(keyB, {}));
    assert.equal(fetches, 2);
    const slow = tokenVerifier(keysFromUrl(url, { cooldownMs: 60_000 }), policy);
    await slow(await minted(keyA, {}));
    const before = fetches;
    for (let i = 0; i < 5; i++) await assert.rejects(slow(await minted(generateSigningKey('EdDSA', `x${i}`), {})));
    assert.ok(fetches - before <= 1, 'unknown kids cannot make it fetch per request');
  });
});
