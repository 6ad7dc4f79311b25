import sodium from 'libsodium-wrappers';
import { assertId, isId } from './conversation.ts';
import { ImError } from './errors.ts';

/**
 * Access tokens: `v1.<claims>.<signature>`, claims as base64url JSON, signed with Ed25519 over `v1.<claims>`.
 * Short-lived; the verifier checks signature, issuer, audience, not-before and expiry (RFC 8725's pitfalls:
 * no algorithm field to choose, one key type, every claim checked). `sub` and `dev` are ids by the rule of
 * lib/conversation.ts, checked on both sides: they become parts of conversation ids, keys and log fields, so a
 * token naming "a:b" or a megabyte of text must never be minted, nor accepted from a signer that skipped the check.
 */
export interface TokenClaims {
  iss: string;
  aud: string;
  /** user id */
  sub: string;
  /** device id */
  dev: string;
  /** issued at, seconds */
  iat: number;
  /** expiry, seconds */
  exp: number;
}

export interface TokenPolicy {
  issuer: string;
  audience: string;
  /** Tolerated clock difference between signer and verifier. */
  clockSkewSec: number;
}

export const defaultTokenPolicy: TokenPolicy = { issuer: 'im-dev', audience: 'im', clockSkewSec: 30 };

const PREFIX = 'v1.';

export async function tokenSigner(seed: Uint8Array, policy: TokenPolicy = defaultTokenPolicy) {
  await sodium.ready;
  const { privateKey } = sodium.crypto_sign_seed_keypair(seed);
  return {
    /** Throws INVALID_ARGUMENT for a user or device id that is not an id (see lib/conversation.ts). */
    sign(user: string, device: string, ttlSec: number, now = Date.now()): string {
      assertId('user', user);
      assertId('device', device);
      const iat = Math.floor(now / 1000);
      const claims: TokenClaims = {
        iss: policy.issuer,
        aud: policy.audience,
        sub: user,
        dev: device,
        iat,
        exp: iat + ttlSec,
      };
      const signed = PREFIX + Buffer.from(JSON.stringify(claims)).toString('base64url');
      const sig = sodium.crypto_sign_detached(Buffer.from(signed), privateKey);
      return `${signed}.${Buffer.from(sig).toString('base64url')}`;
    },
  };
}

export type TokenVerifier = (token: string, now?: number) => TokenClaims;

export async function tokenVerifier(
  publicKey: Uint8Array,
  policy: TokenPolicy = defaultTokenPolicy,
): Promise<TokenVerifier> {
  await sodium.ready;
  return (token, now = Date.now()) => {
    const dot = token.lastIndexOf('.');
    if (!token.startsWith(PREFIX) || dot <= PREFIX.length) throw new ImError('UNAUTHORIZED', 'malformed token');
    const signed = token.slice(0, dot);
    const sig = Buffer.from(token.slice(dot + 1), 'base64url');
    if (
      sig.length !== sodium.crypto_sign_BYTES ||
      !sodium.crypto_sign_verify_detached(sig, Buffer.from(signed), publicKey)
    ) {
      throw new ImError('UNAUTHORIZED', 'bad token signature');
    }
    const claims = parseClaims(signed.slice(PREFIX.length));
    const nowSec = now / 1000;
    if (claims.iss !== policy.issuer) throw new ImError('UNAUTHORIZED', 'token issuer not accepted');
    if (claims.aud !== policy.audience) throw new ImError('UNAUTHORIZED', 'token audience not accepted');
    if (claims.iat > nowSec + policy.clockSkewSec) throw new ImError('UNAUTHORIZED', 'token issued in the future');
    if (claims.exp <= nowSec - policy.clockSkewSec) throw new ImError('TOKEN_EXPIRED', 'token expired');
    return claims;
  };
}

function parseClaims(encoded: string): TokenClaims {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8'));
  } catch (cause) {
    throw new ImError('UNAUTHORIZED', 'malformed token claims', { cause });
  }
  const c = value as Partial<TokenClaims> | null;
  if (
    !c ||
    typeof c.iss !== 'string' ||
    typeof c.aud !== 'string' ||
    typeof c.sub !== 'string' ||
    typeof c.dev !== 'string' ||
    typeof c.iat !== 'number' ||
    typeof c.exp !== 'number'
  ) {
    throw new ImError('UNAUTHORIZED', 'malformed token claims');
  }
  // No echo of the value: the message says which claim, and the token holder has the rest.
  if (!isId(c.sub)) throw new ImError('UNAUTHORIZED', 'token subject is not a valid user id');
  if (!isId(c.dev)) throw new ImError('UNAUTHORIZED', 'token device is not a valid device id');
  return c as TokenClaims;
}
