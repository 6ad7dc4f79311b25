import { randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import sodium from 'libsodium-wrappers';
import { keysOf, ed25519KeyFromSeed, publicJwk, type SigningKey, type VerificationKeys } from './token-keys.ts';

/**
 * The local development signing key shared by the embedded server and `imctl token`, so a person can try the
 * product without an identity provider. Kept at $IM_DEV_KEY_FILE or ~/.im/dev-key.json, created on first use
 * with mode 0600. Production deployments configure a real key pair instead.
 */
export function devKeyPath(): string {
  return process.env.IM_DEV_KEY_FILE ?? join(homedir(), '.im', 'dev-key.json');
}

export interface DevKey {
  seed: Uint8Array;
  publicKey: Uint8Array;
}

export async function loadOrCreateDevKey(path = devKeyPath()): Promise<DevKey> {
  await sodium.ready;
  let seed: Uint8Array;
  try {
    const stored = JSON.parse(readFileSync(path, 'utf8')) as { seed?: unknown };
    if (typeof stored.seed !== 'string') throw new Error(`${path}: no seed`);
    seed = Buffer.from(stored.seed, 'base64url');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    seed = randomBytes(sodium.crypto_sign_SEEDBYTES);
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    // Written whole under another name, then linked into place: a process starting at the same moment sees either
    // no file or the whole key, never an empty one (cluster mode starts its services at once).
    const draft = `${path}.${process.pid}.${randomBytes(4).toString('hex')}`;
    writeFileSync(draft, JSON.stringify({ seed: Buffer.from(seed).toString('base64url') }) + '\n', { mode: 0o600 });
    try {
      linkSync(draft, path);
    } catch (raced) {
      // Another process created it first: use theirs, so both sign with one key.
      if ((raced as NodeJS.ErrnoException).code === 'EEXIST') return loadOrCreateDevKey(path);
      throw raced;
    } finally {
      unlinkSync(draft);
    }
  }
  return { seed, publicKey: sodium.crypto_sign_seed_keypair(seed).publicKey };
}

/** The dev key as a token signing key (EdDSA), its key id marking it as the dev key in every token it signs. */
export function devSigningKey(key: DevKey): SigningKey {
  const k = ed25519KeyFromSeed(key.seed);
  return { ...k, kid: `dev-${k.kid}` };
}

/** The dev key's public half as the only verification key (embedded mode without a configured key set). */
export function devVerificationKeys(key: DevKey): VerificationKeys {
  return keysOf({ keys: [publicJwk(devSigningKey(key))] });
}
