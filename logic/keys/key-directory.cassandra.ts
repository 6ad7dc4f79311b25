// KeyDirectory on Cassandra: e2e_devices (a partition per user) and e2e_one_time_keys (a partition per device), in
// infra/cql/0014_e2e_keys.cql. A claim deletes a one-time key with a lightweight transaction conditional on the key
// it read, so two claims, in any processes, never both get one; the fallback's count is raised the same way.
import cassandra from 'cassandra-driver';
import type { types } from 'cassandra-driver';
import { executeAgainOnTimeout, long, toNumber, type Client } from '../../lib/cassandra.ts';
import { ImError } from '../../lib/errors.ts';
import { PerKeySerial } from '../../lib/per-key-serial.ts';
import type {
  Claim,
  DeviceKeys,
  KeyChange,
  KeyCounts,
  KeyDirectory,
  OneTimeKey,
  PublishedDevice,
  SignedKey,
} from './key-directory.ts';

const where = 'WHERE user_id = ? AND device = ?';
const CQL = {
  device: `SELECT * FROM e2e_devices ${where}`,
  devicesOf: 'SELECT * FROM e2e_devices WHERE user_id = ?',
  putDevice: `INSERT INTO e2e_devices (user_id, device, identity_key, signed_prekey_id, signed_prekey,
    signed_prekey_sig, fallback_key_id, fallback_key, fallback_key_sig, fallback_claims)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0)`,
  setSignedPrekey: `UPDATE e2e_devices SET signed_prekey_id = ?, signed_prekey = ?, signed_prekey_sig = ? ${where}`,
  setFallback: `UPDATE e2e_devices SET fallback_key_id = ?, fallback_key = ?, fallback_key_sig = ?,
    fallback_claims = 0 ${where}`,
  countFallback: `UPDATE e2e_devices SET fallback_claims = ? ${where} IF fallback_claims = ? AND fallback_key = ?`,
  dropOneTimeKeys: `DELETE FROM e2e_one_time_keys ${where}`,
  addOneTimeKey: 'INSERT INTO e2e_one_time_keys (user_id, device, key_id, public_key) VALUES (?, ?, ?, ?)',
  oneTimeKeyIds: `SELECT key_id FROM e2e_one_time_keys ${where}`,
  firstOneTimeKeys: `SELECT key_id, public_key FROM e2e_one_time_keys ${where} LIMIT ?`,
  takeOneTimeKey: `DELETE FROM e2e_one_time_keys ${where} AND key_id = ? IF public_key = ?`,
} as const;

/** One-time keys a claim reads at once, tried in random order so claims from other processes rarely collide. */
const WINDOW = 8;
/** Reads of the keys (each followed by tries of what it read) before a claim gives up as contended. */
const ROUNDS = 8;
const serialRead = { consistency: cassandra.types.consistencies.localSerial };

export class CassandraKeyDirectory implements KeyDirectory {
  /** Claims of one device in this process go one at a time: the transactions of one partition contend anyway. */
  private readonly claims = new PerKeySerial();

  constructor(private readonly client: Client) {}

  async identityOf(user: string, device: string): Promise<Uint8Array | undefined> {
    const row = (await this.client.execute(CQL.device, [user, device])).first();
    return row ? bytesOf(row.get('identity_key')) : undefined;
  }

  /**
   * The old one-time keys go first and the device row last, each write after the one before (the driver's client
   * timestamps rise): a reset cut short leaves the old identity with no one-time keys (claims get its fallback)
   * until the device uploads again, never old one-time keys under the new identity.
   */
  async replace(
    user: string,
    device: string,
    keys: DeviceKeys,
    oneTimeKeys: readonly OneTimeKey[],
  ): Promise<KeyCounts> {
    await this.client.execute(CQL.dropOneTimeKeys, [user, device]);
    await this.addOneTimeKeys(user, device, oneTimeKeys);
    const { identityKey, signedPrekey: s, fallbackKey: f } = keys;
    await this.client.execute(CQL.putDevice, [
      user,
      device,
      Buffer.from(identityKey),
      ...signedArgs(s),
      ...signedArgs(f),
    ]);
    return { oneTimeKeys: oneTimeKeys.length, fallbackClaims: 0 };
  }

  async update(user: string, device: string, change: KeyChange, maxOneTimeKeys: number): Promise<KeyCounts | 'full'> {
    const row = (await this.client.execute(CQL.device, [user, device])).first();
    if (!row) throw new Error(`keys: ${user}/${device} has published no keys to update`);
    const stored = new Set(
      (await this.client.execute(CQL.oneTimeKeyIds, [user, device])).rows.map((r) => toNumber(r.get('key_id'))),
    );
    const fresh = change.oneTimeKeys.filter((k) => !stored.has(k.id));
    if (stored.size + fresh.length > maxOneTimeKeys) return 'full';
    await this.addOneTimeKeys(user, device, fresh);
    const { signedPrekey, fallbackKey } = change;
    if (signedPrekey) await this.client.execute(CQL.setSignedPrekey, [...signedArgs(signedPrekey), user, device]);
    if (fallbackKey) await this.client.execute(CQL.setFallback, [...signedArgs(fallbackKey), user, device]);
    const fallbackClaims = fallbackKey ? 0 : toNumber(row.get('fallback_claims'));
    return { oneTimeKeys: stored.size + fresh.length, fallbackClaims };
  }

  claim(user: string, device: string): Promise<Claim | undefined> {
    return this.claims.run(`${user}/${device}`, async () => {
      for (let round = 0; round < ROUNDS; round++) {
        const rows = (await this.client.execute(CQL.firstOneTimeKeys, [user, device, WINDOW])).rows;
        if (rows.length === 0) return this.claimFallback(user, device);
        for (const row of shuffled(rows)) {
          const params = [user, device, row.get('key_id'), row.get('public_key')];
          // A take that applied and timed out is tried again, finds the key gone and moves on: the key is lost,
          // never handed out twice.
          if ((await executeAgainOnTimeout(this.client, CQL.takeOneTimeKey, params)).wasApplied()) {
            return { oneTimeKey: { id: toNumber(row.get('key_id')), publicKey: bytesOf(row.get('public_key')) } };
          }
        }
      }
      throw contended(user, device);
    });
  }

  async devicesOf(user: string): Promise<PublishedDevice[]> {
    // Rows come in clustering order: device ids as bytes, which for ASCII ids is the order JS sorts.
    const rows = (await this.client.execute(CQL.devicesOf, [user])).rows;
    return rows.map((row) => ({ device: row.get('device') as string, ...keysOf(row) }));
  }

  private async addOneTimeKeys(user: string, device: string, keys: readonly OneTimeKey[]): Promise<void> {
    if (keys.length === 0) return;
    const writes = keys.map((k) => ({
      query: CQL.addOneTimeKey,
      params: [user, device, long(k.id), Buffer.from(k.publicKey)],
    }));
    // One partition: an unlogged batch is applied whole.
    await this.client.batch(writes, { logged: false });
  }

  private async claimFallback(user: string, device: string): Promise<Claim | undefined> {
    for (let round = 0; round < ROUNDS; round++) {
      // A serial read sees the outcome of any transaction in progress on the row.
      const row = (await this.client.execute(CQL.device, [user, device], serialRead)).first();
      if (!row) return undefined;
      const claims = toNumber(row.get('fallback_claims'));
      const params = [claims + 1, user, device, claims, row.get('fallback_key')];
      if ((await this.client.execute(CQL.countFallback, params)).wasApplied()) {
        return { fallbackKey: keysOf(row).fallbackKey, fallbackClaims: claims + 1 };
      }
    }
    throw contended(user, device);
  }
}

function contended(user: string, device: string): ImError {
  return new ImError('UNAVAILABLE', `keys of ${user}/${device} are contended, try again`, { retryAfterMs: 100 });
}

function signedArgs(k: SignedKey): [types.Long, Buffer, Buffer] {
  return [long(k.id), Buffer.from(k.publicKey), Buffer.from(k.signature)];
}

function keysOf(row: types.Row): DeviceKeys {
  const signed = (prefix: string): SignedKey => ({
    id: toNumber(row.get(`${prefix}_id`)),
    publicKey: bytesOf(row.get(prefix)),
    signature: bytesOf(row.get(`${prefix}_sig`)),
  });
  return {
    identityKey: bytesOf(row.get('identity_key')),
    signedPrekey: signed('signed_prekey'),
    fallbackKey: signed('fallback_key'),
  };
}

function bytesOf(value: unknown): Uint8Array {
  return new Uint8Array(value as Buffer);
}

function shuffled<T>(items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}
