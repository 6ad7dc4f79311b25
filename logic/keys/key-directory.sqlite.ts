import { groupCommit, type GroupCommit } from '../../lib/group-commit.ts';
import { asPromise, type Sqlite } from '../../lib/sqlite.ts';
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

/**
 * Tables:
 * - e2e_devices (user_id, device) → identity key, signed prekey and fallback key (id, key, signature each),
 *   fallback_claims
 * - e2e_one_time_keys (user_id, device, key_id) → public_key; a claim deletes the lowest id in the same write.
 * Every write goes through the database's group commit; a claim's read and delete run in one synchronous step on the
 * one connection, so no other claim comes between them.
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS e2e_devices (
  user_id TEXT NOT NULL,
  device TEXT NOT NULL,
  identity_key BLOB NOT NULL,
  signed_prekey_id INTEGER NOT NULL,
  signed_prekey BLOB NOT NULL,
  signed_prekey_sig BLOB NOT NULL,
  fallback_key_id INTEGER NOT NULL,
  fallback_key BLOB NOT NULL,
  fallback_key_sig BLOB NOT NULL,
  fallback_claims INTEGER NOT NULL,
  PRIMARY KEY (user_id, device)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS e2e_one_time_keys (
  user_id TEXT NOT NULL,
  device TEXT NOT NULL,
  key_id INTEGER NOT NULL,
  public_key BLOB NOT NULL,
  PRIMARY KEY (user_id, device, key_id)
) WITHOUT ROWID;
`;

interface DeviceRow {
  device: string;
  identity_key: Buffer;
  signed_prekey_id: number;
  signed_prekey: Buffer;
  signed_prekey_sig: Buffer;
  fallback_key_id: number;
  fallback_key: Buffer;
  fallback_key_sig: Buffer;
  fallback_claims: number;
}

type Who = [user: string, device: string];
type Signed = [id: number, key: Uint8Array, signature: Uint8Array];

function prepare(db: Sqlite) {
  db.exec(SCHEMA);
  const device = 'WHERE user_id = ? AND device = ?';
  return {
    device: db.prepare<Who, DeviceRow>(`SELECT * FROM e2e_devices ${device}`),
    devicesOf: db.prepare<[string], DeviceRow>('SELECT * FROM e2e_devices WHERE user_id = ? ORDER BY device'),
    putDevice: db.prepare<[...Who, Uint8Array, ...Signed, ...Signed]>(
      `INSERT OR REPLACE INTO e2e_devices (user_id, device, identity_key, signed_prekey_id, signed_prekey,
         signed_prekey_sig, fallback_key_id, fallback_key, fallback_key_sig, fallback_claims)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0)`,
    ),
    setSignedPrekey: db.prepare<[...Signed, ...Who]>(
      `UPDATE e2e_devices SET signed_prekey_id = ?, signed_prekey = ?, signed_prekey_sig = ? ${device}`,
    ),
    setFallback: db.prepare<[...Signed, ...Who]>(
      `UPDATE e2e_devices SET fallback_key_id = ?, fallback_key = ?, fallback_key_sig = ?, fallback_claims = 0 ${device}`,
    ),
    countFallback: db.prepare<Who>(`UPDATE e2e_devices SET fallback_claims = fallback_claims + 1 ${device}`),
    dropOneTimeKeys: db.prepare<Who>(`DELETE FROM e2e_one_time_keys ${device}`),
    addOneTimeKey: db.prepare<[...Who, number, Uint8Array]>(
      'INSERT INTO e2e_one_time_keys (user_id, device, key_id, public_key) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING',
    ),
    hasOneTimeKey: db
      .prepare<[...Who, number], number>(`SELECT 1 FROM e2e_one_time_keys ${device} AND key_id = ?`)
      .pluck(),
    countOneTimeKeys: db.prepare<Who, number>(`SELECT COUNT(*) FROM e2e_one_time_keys ${device}`).pluck(),
    firstOneTimeKey: db.prepare<Who, { key_id: number; public_key: Buffer }>(
      `SELECT key_id, public_key FROM e2e_one_time_keys ${device} ORDER BY key_id LIMIT 1`,
    ),
    dropOneTimeKey: db.prepare<[...Who, number]>(`DELETE FROM e2e_one_time_keys ${device} AND key_id = ?`),
  };
}

/** The key directory in the embedded mode's SQLite database. */
export class SqliteKeyDirectory implements KeyDirectory {
  private readonly sql: ReturnType<typeof prepare>;
  private readonly commit: GroupCommit;

  constructor(db: Sqlite) {
    this.commit = groupCommit(db);
    this.sql = prepare(db);
  }

  identityOf(user: string, device: string): Promise<Uint8Array | undefined> {
    return asPromise(() => {
      const row = this.sql.device.get(user, device);
      return row && new Uint8Array(row.identity_key);
    });
  }

  replace(user: string, device: string, keys: DeviceKeys, oneTimeKeys: readonly OneTimeKey[]): Promise<KeyCounts> {
    return this.commit.write(() => {
      const { signedPrekey: s, fallbackKey: f } = keys;
      this.sql.putDevice.run(user, device, keys.identityKey, ...signedArgs(s), ...signedArgs(f));
      this.sql.dropOneTimeKeys.run(user, device);
      for (const k of oneTimeKeys) this.sql.addOneTimeKey.run(user, device, k.id, k.publicKey);
      return this.counts(user, device);
    });
  }

  update(user: string, device: string, change: KeyChange, maxOneTimeKeys: number): Promise<KeyCounts | 'full'> {
    return this.commit.write(() => {
      if (!this.sql.device.get(user, device))
        throw new Error(`keys: ${user}/${device} has published no keys to update`);
      const fresh = change.oneTimeKeys.filter((k) => this.sql.hasOneTimeKey.get(user, device, k.id) === undefined);
      if (this.sql.countOneTimeKeys.get(user, device)! + fresh.length > maxOneTimeKeys) return 'full';
      for (const k of fresh) this.sql.addOneTimeKey.run(user, device, k.id, k.publicKey);
      if (change.signedPrekey) this.sql.setSignedPrekey.run(...signedArgs(change.signedPrekey), user, device);
      if (change.fallbackKey) this.sql.setFallback.run(...signedArgs(change.fallbackKey), user, device);
      return this.counts(user, device);
    });
  }

  claim(user: string, device: string): Promise<Claim | undefined> {
    return this.commit.write((): Claim | undefined => {
      const first = this.sql.firstOneTimeKey.get(user, device);
      if (first) {
        this.sql.dropOneTimeKey.run(user, device, first.key_id);
        return { oneTimeKey: { id: first.key_id, publicKey: new Uint8Array(first.public_key) } };
      }
      this.sql.countFallback.run(user, device);
      const row = this.sql.device.get(user, device);
      return row && { fallbackKey: fallbackOf(row), fallbackClaims: row.fallback_claims };
    });
  }

  devicesOf(user: string): Promise<PublishedDevice[]> {
    return asPromise(() =>
      this.sql.devicesOf.all(user).map((row) => ({
        device: row.device,
        identityKey: new Uint8Array(row.identity_key),
        signedPrekey: {
          id: row.signed_prekey_id,
          publicKey: new Uint8Array(row.signed_prekey),
          signature: new Uint8Array(row.signed_prekey_sig),
        },
        fallbackKey: fallbackOf(row),
      })),
    );
  }

  private counts(user: string, device: string): KeyCounts {
    const row = this.sql.device.get(user, device);
    return { oneTimeKeys: this.sql.countOneTimeKeys.get(user, device)!, fallbackClaims: row?.fallback_claims ?? 0 };
  }
}

function signedArgs(k: SignedKey): Signed {
  return [k.id, k.publicKey, k.signature];
}

function fallbackOf(row: DeviceRow): SignedKey {
  return {
    id: row.fallback_key_id,
    publicKey: new Uint8Array(row.fallback_key),
    signature: new Uint8Array(row.fallback_key_sig),
  };
}
