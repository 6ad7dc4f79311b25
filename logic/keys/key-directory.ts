/** An X25519 public key its device's identity key signed (a signed prekey or a fallback key). */
export interface SignedKey {
  id: number;
  publicKey: Uint8Array;
  signature: Uint8Array;
}

export interface OneTimeKey {
  id: number;
  publicKey: Uint8Array;
}

/** What a device publishes besides its one-time keys. */
export interface DeviceKeys {
  /** Ed25519, the device's identity: a different one means the device was reset. */
  identityKey: Uint8Array;
  signedPrekey: SignedKey;
  fallbackKey: SignedKey;
}

/** A device of a user that has published keys. */
export interface PublishedDevice extends DeviceKeys {
  device: string;
}

/** What a device is told after an upload: how many one-time keys are left, how often its fallback was handed out. */
export interface KeyCounts {
  oneTimeKeys: number;
  fallbackClaims: number;
}

/** Changes to a device that keeps its identity key; what is absent stays as it is. */
export interface KeyChange {
  signedPrekey?: SignedKey;
  /** A new fallback key: its claims count from 0. */
  fallbackKey?: SignedKey;
  oneTimeKeys: readonly OneTimeKey[];
}

/** One claim on a device's keys: a one-time key, taken out of the directory, or the fallback key once none is left. */
export type Claim = { oneTimeKey: OneTimeKey } | { fallbackKey: SignedKey; fallbackClaims: number };

/**
 * The end-to-end key directory (port): public keys per (user, device), never a private one.
 *
 * - `replace` sets everything a device has (a first upload, or a reset with a new identity key): the one-time keys
 *   it had are gone and its fallback claims are 0.
 * - `update` changes a device that has published (the caller checked the identity key): one-time keys whose id is
 *   stored already are ignored, not stored twice (a claimed key's id is no longer stored). It changes nothing and
 *   answers 'full' when the device would then hold more than `maxOneTimeKeys`. An empty change reads the counts.
 * - `claim` hands out one of the device's one-time keys and removes it in the same step: two claims, however
 *   concurrent, never get the same key. With none left it hands out the fallback key and counts the claim.
 *   Undefined for a device that has published nothing.
 * - `devicesOf` lists a user's devices that have published, ordered by device id (as JS sorts; ids are ASCII).
 * - The one-time keys of one call have distinct ids (the caller checks).
 * - Uploads of one device are made one at a time (its connection's frames): an upload racing another upload of the
 *   same device may interleave with it; claims may race anything.
 */
export interface KeyDirectory {
  identityOf(user: string, device: string): Promise<Uint8Array | undefined>;
  replace(user: string, device: string, keys: DeviceKeys, oneTimeKeys: readonly OneTimeKey[]): Promise<KeyCounts>;
  update(user: string, device: string, change: KeyChange, maxOneTimeKeys: number): Promise<KeyCounts | 'full'>;
  claim(user: string, device: string): Promise<Claim | undefined>;
  devicesOf(user: string): Promise<PublishedDevice[]>;
}
