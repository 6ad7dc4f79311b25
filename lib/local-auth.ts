import { randomBytes } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateSigningKey, privateJwk, publicJwk, readSigningKey } from './token-keys.ts';
import { tokenSigner, type TokenSigner } from './token.ts';

/**
 * A stand-in for a deployment's auth server, for the local cluster, benchmarks and tests: a signing key kept in a
 * directory and the key set its verifiers are given. The services only ever see the key set.
 */
export interface LocalAuth {
  /** The private key (a JWK): only what mints tokens reads it. */
  signingKeyFile: string;
  /** The public key set the services verify with (IM_AUTH_JWKS_FILE). */
  jwksFile: string;
  issuer: string;
  audience: string;
}

export const LOCAL_ISSUER = 'im-local';

/** The auth of `dir`, its key made on first use (written whole, then linked into place: concurrent starts agree). */
export function localAuth(dir: string, issuer = LOCAL_ISSUER, audience = 'im'): LocalAuth {
  const auth = { signingKeyFile: join(dir, 'signing-key.json'), jwksFile: join(dir, 'jwks.json'), issuer, audience };
  if (!existsSync(auth.signingKeyFile)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const draft = `${auth.signingKeyFile}.${process.pid}.${randomBytes(4).toString('hex')}`;
    writeFileSync(draft, `${JSON.stringify(privateJwk(generateSigningKey('EdDSA')))}\n`, { mode: 0o600 });
    try {
      linkSync(draft, auth.signingKeyFile);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    } finally {
      unlinkSync(draft);
    }
  }
  const jwks = `${JSON.stringify({ keys: [publicJwk(readSigningKey(auth.signingKeyFile))] })}\n`;
  if (!existsSync(auth.jwksFile) || readFileSync(auth.jwksFile, 'utf8') !== jwks) {
    const draft = `${auth.jwksFile}.${process.pid}.${randomBytes(4).toString('hex')}`;
    writeFileSync(draft, jwks);
    renameSync(draft, auth.jwksFile);
  }
  return auth;
}

/** The IM_AUTH_* settings that make a service verify this auth's tokens. */
export function localAuthEnv(auth: LocalAuth): Record<string, string> {
  return { IM_AUTH_JWKS_FILE: auth.jwksFile, IM_AUTH_ISSUER: auth.issuer, IM_AUTH_AUDIENCE: auth.audience };
}

export function localSigner(auth: LocalAuth): TokenSigner {
  return tokenSigner(readSigningKey(auth.signingKeyFile), auth);
}
