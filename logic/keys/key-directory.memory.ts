import type {
  Claim,
  DeviceKeys,
  KeyChange,
  KeyCounts,
  KeyDirectory,
  OneTimeKey,
  PublishedDevice,
} from './key-directory.ts';

interface Entry {
  keys: DeviceKeys;
  fallbackClaims: number;
  /** By id, in insertion order; claims take the lowest id. */
  oneTimeKeys: Map<number, Uint8Array>;
}

/** The key directory in memory: tests and IM_DATA_DIR=:memory:. Every call is one synchronous step, so atomic. */
export class MemoryKeyDirectory implements KeyDirectory {
  /** user → device → entry. */
  private readonly users = new Map<string, Map<string, Entry>>();

  identityOf(user: string, device: string): Promise<Uint8Array | undefined> {
    return Promise.resolve(this.users.get(user)?.get(device)?.keys.identityKey);
  }

  replace(user: string, device: string, keys: DeviceKeys, oneTimeKeys: readonly OneTimeKey[]): Promise<KeyCounts> {
    let devices = this.users.get(user);
    if (!devices) this.users.set(user, (devices = new Map<string, Entry>()));
    const entry: Entry = { keys: { ...keys }, fallbackClaims: 0, oneTimeKeys: new Map() };
    for (const k of oneTimeKeys) if (!entry.oneTimeKeys.has(k.id)) entry.oneTimeKeys.set(k.id, k.publicKey);
    devices.set(device, entry);
    return Promise.resolve(countsOf(entry));
  }

  update(user: string, device: string, change: KeyChange, maxOneTimeKeys: number): Promise<KeyCounts | 'full'> {
    const entry = this.users.get(user)?.get(device);
    if (!entry) return Promise.reject(new Error(`keys: ${user}/${device} has published no keys to update`));
    const fresh = change.oneTimeKeys.filter((k) => !entry.oneTimeKeys.has(k.id));
    if (entry.oneTimeKeys.size + fresh.length > maxOneTimeKeys) return Promise.resolve('full');
    for (const k of fresh) entry.oneTimeKeys.set(k.id, k.publicKey);
    if (change.signedPrekey) entry.keys = { ...entry.keys, signedPrekey: change.signedPrekey };
    if (change.fallbackKey) {
      entry.keys = { ...entry.keys, fallbackKey: change.fallbackKey };
      entry.fallbackClaims = 0;
    }
    return Promise.resolve(countsOf(entry));
  }

  claim(user: string, device: string): Promise<Claim | undefined> {
    const entry = this.users.get(user)?.get(device);
    if (!entry) return Promise.resolve(undefined);
    if (entry.oneTimeKeys.size === 0) {
      entry.fallbackClaims += 1;
      return Promise.resolve({ fallbackKey: entry.keys.fallbackKey, fallbackClaims: entry.fallbackClaims });
    }
    const id = Math.min(...entry.oneTimeKeys.keys());
    const publicKey = entry.oneTimeKeys.get(id) as Uint8Array;
    entry.oneTimeKeys.delete(id);
    return Promise.resolve({ oneTimeKey: { id, publicKey } });
  }

  devicesOf(user: string): Promise<PublishedDevice[]> {
    const devices = [...(this.users.get(user) ?? new Map<string, Entry>()).entries()];
    devices.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return Promise.resolve(devices.map(([device, e]) => ({ device, ...e.keys })));
  }
}

function countsOf(entry: Entry): KeyCounts {
  return { oneTimeKeys: entry.oneTimeKeys.size, fallbackClaims: entry.fallbackClaims };
}
