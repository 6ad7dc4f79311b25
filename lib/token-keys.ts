import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type JsonWebKey,
  type KeyObject,
} from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { createLocalJWKSet, createRemoteJWKSet, type JSONWebKeySet, type JWK, type JWTVerifyGetKey } from 'jose';

/** The signature algorithms a token may use: EdDSA (Ed25519) first, the others for identity providers that only sign those. */
export const TOKEN_ALGORITHMS = ['EdDSA', 'ES256', 'RS256'] as const;
export type TokenAlgorithm = (typeof TOKEN_ALGORITHMS)[number];

/** A private key that signs tokens, with the key id verifiers find its public half by. */
export interface SigningKey {
  kid: string;
  alg: TokenAlgorithm;
  privateKey: KeyObject;
}

/** Where a verifier finds the public key of a token's `kid`: a jose key resolver over a key set. */
export type VerificationKeys = JWTVerifyGetKey;

/** Ed25519's PKCS#8 wrapping of a 32-byte seed (RFC 8410), so node:crypto can take a libsodium-style seed. */
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

export function ed25519KeyFromSeed(seed: Uint8Array, kid?: string): SigningKey {
  const privateKey = createPrivateKey({
    key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]),
    format: 'der',
    type: 'pkcs8',
  });
  return { alg: 'EdDSA', privateKey, kid: kid ?? thumbprintKid(privateKey) };
}

export function generateSigningKey(alg: TokenAlgorithm = 'EdDSA', kid?: string): SigningKey {
  const { privateKey } =
    alg === 'EdDSA'
      ? generateKeyPairSync('ed25519')
      : alg === 'ES256'
        ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
        : generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { alg, privateKey, kid: kid ?? thumbprintKid(privateKey) };
}

/** The public half as a JWK for a key set: `kid`, `alg` and `use` set, nothing private. */
export function publicJwk(key: SigningKey): JWK {
  const jwk = createPublicKey(key.privateKey).export({ format: 'jwk' }) as JWK;
  return { ...jwk, kid: key.kid, alg: key.alg, use: 'sig' };
}

/** The private key as a JWK file's content (what an auth server keeps; `kid` and `alg` travel with it). */
export function privateJwk(key: SigningKey): JWK {
  return { ...(key.privateKey.export({ format: 'jwk' }) as JWK), kid: key.kid, alg: key.alg };
}

export function signingKeyFromJwk(jwk: JWK): SigningKey {
  const alg = jwk.alg as TokenAlgorithm | undefined;
  if (!alg || !TOKEN_ALGORITHMS.includes(alg))
    throw new Error(`signing key: alg must be one of ${TOKEN_ALGORITHMS.join(', ')}`);
  if (!jwk.kid) throw new Error('signing key: no kid');
  const privateKey = createPrivateKey({ key: jwk as JsonWebKey, format: 'jwk' });
  return { alg, kid: jwk.kid, privateKey };
}

export function readSigningKey(path: string): SigningKey {
  return signingKeyFromJwk(JSON.parse(readFileSync(path, 'utf8')) as JWK);
}

/** A key id that names the key itself (a hash of its public half), stable across restarts. */
function thumbprintKid(privateKey: KeyObject): string {
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  return createHash('sha256').update(spki).digest('base64url').slice(0, 16);
}

/** Keys from a key set held in memory. */
export function keysOf(jwks: JSONWebKeySet): VerificationKeys {
  return createLocalJWKSet(jwks);
}

/**
 * Keys from a JWKS file, read again when it changes (looked at once per `checkEveryMs` at most): a key added for a
 * rollover verifies, and a key removed stops verifying, without a restart. A file that cannot be read or parsed
 * keeps the last good set (an operator's half-written file must not lock every user out) and is reported.
 */
export function keysFromFile(
  path: string,
  options: { checkEveryMs?: number; onError?: (err: Error) => void } = {},
): VerificationKeys {
  const checkEveryMs = options.checkEveryMs ?? 1000;
  let current = load();
  let loaded = versionOf(path);
  let checkedAt = Date.now();
  function load(): VerificationKeys {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as JSONWebKeySet;
    if (!Array.isArray(parsed.keys)) throw new Error(`${path}: not a JWKS document (no "keys" array)`);
    return createLocalJWKSet(parsed);
  }
  const refresh = () => {
    const now = Date.now();
    if (now - checkedAt < checkEveryMs) return;
    checkedAt = now;
    try {
      const version = versionOf(path);
      if (version === loaded) return;
      current = load();
      loaded = version;
    } catch (err) {
      options.onError?.(err as Error);
    }
  };
  return (header, token) => {
    refresh();
    return current(header, token);
  };
}

/**
 * What tells one version of a file from the next: a file renamed into place is a new inode, and an edit in place
 * changes the size or the time (two writes within the clock's resolution can share a time, so not the time alone).
 */
function versionOf(path: string): string {
  const s = statSync(path);
  return `${s.ino}:${s.size}:${s.mtimeMs}`;
}

/**
 * Keys from an identity provider's JWKS URL, cached for `maxAgeMs` (a removed key stops verifying within that) and
 * fetched again early when a token names an unknown kid (at most once per cooldown: unknown kids cannot force a
 * fetch per request).
 */
export function keysFromUrl(url: string, options: { maxAgeMs?: number; cooldownMs?: number } = {}): VerificationKeys {
  return createRemoteJWKSet(new URL(url), {
    cacheMaxAge: options.maxAgeMs ?? 60_000,
    cooldownDuration: options.cooldownMs ?? 10_000,
    timeoutDuration: 5_000,
  });
}
