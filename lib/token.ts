import { randomBytes, sign as signBytes } from 'node:crypto';
import { errors as joseErrors, jwtVerify } from 'jose';
import { assertId, isId } from './conversation.ts';
import { ImError } from './errors.ts';
import { TOKEN_ALGORITHMS, type SigningKey, type TokenAlgorithm, type VerificationKeys } from './token-keys.ts';

/**
 * User access tokens: standard JWTs (RFC 7519) signed by the deployment's auth server, verified here with public keys
 * only. `sub` and `dev` are ids by the rule of lib/conversation.ts, checked on both sides: they become parts of
 * conversation ids, keys and log fields, so a token naming "a:b" or a megabyte of text must never be minted, nor
 * accepted from a signer that skipped the check.
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
  /** the token's id (a denylist names it) */
  jti?: string;
}

export interface TokenPolicy {
  issuer: string;
  audience: string;
  /** Tolerated clock difference between signer and verifier. */
  clockSkewSec: number;
  /** `exp - iat` at most: a token minted for ten years is refused, whoever signed it. */
  maxLifetimeSec: number;
  algorithms: readonly TokenAlgorithm[];
}

/** Embedded mode's dev tokens: the dev key, this issuer. A deployment configures its own (lib/config.ts IM_AUTH_*). */
export const defaultTokenPolicy: TokenPolicy = {
  issuer: 'im-dev',
  audience: 'im',
  clockSkewSec: 30,
  maxLifetimeSec: 7 * 24 * 3600,
  algorithms: TOKEN_ALGORITHMS,
};

export type TokenSigner = ReturnType<typeof tokenSigner>;

/**
 * Mints tokens with a private key: embedded mode's dev sign-in, `imctl token`, the local cluster's stand-in for an
 * auth server and the tests. Synchronous (node:crypto), so a test or a reconnecting client can mint one inline.
 */
export function tokenSigner(key: SigningKey, policy: Pick<TokenPolicy, 'issuer' | 'audience'> = defaultTokenPolicy) {
  const header = Buffer.from(JSON.stringify({ alg: key.alg, kid: key.kid, typ: 'JWT' })).toString('base64url');
  return {
    kid: key.kid,
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
        jti: randomBytes(12).toString('base64url'),
      };
      const signed = `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
      return `${signed}.${signature(key, Buffer.from(signed)).toString('base64url')}`;
    },
  };
}

function signature(key: SigningKey, data: Buffer): Buffer {
  switch (key.alg) {
    case 'EdDSA':
      return signBytes(null, data, key.privateKey);
    case 'ES256':
      return signBytes('sha256', data, { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
    case 'RS256':
      return signBytes('sha256', data, key.privateKey);
  }
}

export type TokenVerifier = (token: string, now?: number) => Promise<TokenClaims>;

/** Verifies a token's signature against `keys` by its `kid`, then every claim against the policy. */
export function tokenVerifier(keys: VerificationKeys, policy: TokenPolicy = defaultTokenPolicy): TokenVerifier {
  return async (token, now = Date.now()) => {
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, keys, {
        issuer: policy.issuer,
        audience: policy.audience,
        algorithms: [...policy.algorithms],
        clockTolerance: policy.clockSkewSec,
        currentDate: new Date(now),
        requiredClaims: ['sub', 'iat', 'exp'],
      }));
    } catch (err) {
      throw refusal(err);
    }
    return checkedClaims(payload, now / 1000, policy);
  };
}

function checkedClaims(c: Record<string, unknown>, nowSec: number, policy: TokenPolicy): TokenClaims {
  const { sub, dev, iat, exp, jti } = c;
  if (typeof sub !== 'string' || typeof dev !== 'string' || typeof iat !== 'number' || typeof exp !== 'number') {
    throw new ImError('UNAUTHORIZED', 'malformed token claims');
  }
  if (jti !== undefined && typeof jti !== 'string') throw new ImError('UNAUTHORIZED', 'malformed token claims');
  if (iat > nowSec + policy.clockSkewSec) throw new ImError('UNAUTHORIZED', 'token issued in the future');
  if (exp - iat > policy.maxLifetimeSec) {
    throw new ImError('UNAUTHORIZED', `token lifetime over the maximum of ${policy.maxLifetimeSec} s`);
  }
  // No echo of the value: the message says which claim, and the token holder has the rest.
  if (!isId(sub)) throw new ImError('UNAUTHORIZED', 'token subject is not a valid user id');
  if (!isId(dev)) throw new ImError('UNAUTHORIZED', 'token device is not a valid device id');
  return { iss: policy.issuer, aud: policy.audience, sub, dev, iat, exp, ...(jti === undefined ? {} : { jti }) };
}

/** jose's reasons as the API's stable codes, with a short message that echoes nothing of the token. */
function refusal(err: unknown): ImError {
  if (err instanceof joseErrors.JWTExpired) return new ImError('TOKEN_EXPIRED', 'token expired');
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    const what = err.claim === 'iss' ? 'issuer' : err.claim === 'aud' ? 'audience' : `claim ${err.claim}`;
    return new ImError('UNAUTHORIZED', `token ${what} not accepted (${err.reason})`);
  }
  if (err instanceof joseErrors.JWKSNoMatchingKey) return new ImError('UNAUTHORIZED', 'token signed by an unknown key');
  if (err instanceof joseErrors.JWSSignatureVerificationFailed)
    return new ImError('UNAUTHORIZED', 'bad token signature');
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return new ImError('UNAUTHORIZED', 'token algorithm not accepted');
  if (err instanceof joseErrors.JWKSTimeout || err instanceof joseErrors.JWKSInvalid) {
    return new ImError('UNAVAILABLE', 'token keys unavailable', { cause: err });
  }
  if (err instanceof joseErrors.JOSEError) return new ImError('UNAUTHORIZED', 'malformed token', { cause: err });
  return new ImError('UNAVAILABLE', 'token keys unavailable', { cause: err });
}
