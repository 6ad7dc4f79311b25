import { groupCommit, type GroupCommit } from '../../lib/group-commit.ts';
import { asPromise, type Sqlite } from '../../lib/sqlite.ts';
import { byDevice, type DeviceToken, type DeviceTokenStore, type Platform } from './device-token-store.ts';

/**
 * Table push_device_tokens (user, device) → the registration: a user's devices in key order, which ofUsers reads.
 * A unique index by (platform, token) finds a token's device (a token moved, a dead token) and lets no token belong
 * to two devices. A user's rows come in key order, UTF-8 byte order, and are sorted as JS sorts like every adapter's.
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS push_device_tokens (
  user TEXT NOT NULL,
  device TEXT NOT NULL,
  platform TEXT NOT NULL,
  token TEXT NOT NULL,
  topic TEXT NOT NULL,
  environment TEXT NOT NULL,
  locale TEXT NOT NULL,
  previews INTEGER NOT NULL,
  updated_at_ms INTEGER NOT NULL,
  PRIMARY KEY (user, device)
) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS push_device_tokens_by_token ON push_device_tokens (platform, token);
`;

interface Row {
  user: string;
  device: string;
  platform: Platform;
  token: string;
  topic: string;
  environment: DeviceToken['environment'];
  locale: string;
  previews: number;
  updatedAtMs: number;
}

function prepare(db: Sqlite) {
  db.exec(SCHEMA);
  return {
    // The token's previous device, if another: one token belongs to one device.
    moveToken: db.prepare<[string, string, string, string]>(
      'DELETE FROM push_device_tokens WHERE platform = ? AND token = ? AND NOT (user = ? AND device = ?)',
    ),
    put: db.prepare<[string, string, string, string, string, string, string, number, number]>(
      `INSERT INTO push_device_tokens
         (user, device, platform, token, topic, environment, locale, previews, updated_at_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (user, device) DO UPDATE SET
         platform = excluded.platform, token = excluded.token, topic = excluded.topic,
         environment = excluded.environment, locale = excluded.locale, previews = excluded.previews,
         updated_at_ms = excluded.updated_at_ms`,
    ),
    remove: db.prepare<[string, string]>('DELETE FROM push_device_tokens WHERE user = ? AND device = ?'),
    removeToken: db.prepare<[string, string]>('DELETE FROM push_device_tokens WHERE platform = ? AND token = ?'),
    removeTokenUnless: db.prepare<[string, string, number]>(
      'DELETE FROM push_device_tokens WHERE platform = ? AND token = ? AND updated_at_ms <= ?',
    ),
    // A page of users: one more than asked tells whether another follows.
    scanUsers: db
      .prepare<[string, number], string>(
        'SELECT DISTINCT user FROM push_device_tokens WHERE user > ? ORDER BY user LIMIT ?',
      )
      .pluck(),
    scanRows: db.prepare<[string, string], Row>(
      `SELECT user, device, platform, token, topic, environment, locale, previews, updated_at_ms AS updatedAtMs
       FROM push_device_tokens WHERE user > ? AND user <= ? ORDER BY user, device`,
    ),
    ofUser: db.prepare<[string], Row>(
      `SELECT user, device, platform, token, topic, environment, locale, previews, updated_at_ms AS updatedAtMs
       FROM push_device_tokens WHERE user = ?`,
    ),
  };
}

/**
 * Device tokens in the embedded mode's SQLite database. Writes go through the database's group commit, so a write's
 * promise resolves once it is committed; a put (the token taken from its previous device, the device's row replaced)
 * is one savepoint.
 */
export class SqliteDeviceTokenStore implements DeviceTokenStore {
  private readonly sql: ReturnType<typeof prepare>;
  private readonly commit: GroupCommit;

  constructor(db: Sqlite) {
    this.commit = groupCommit(db);
    this.sql = prepare(db);
  }

  put(t: DeviceToken): Promise<void> {
    return this.commit.write(() => {
      this.sql.moveToken.run(t.platform, t.token, t.user, t.device);
      this.sql.put.run(
        t.user,
        t.device,
        t.platform,
        t.token,
        t.topic,
        t.environment,
        t.locale,
        t.previews ? 1 : 0,
        t.updatedAtMs,
      );
    });
  }

  remove(user: string, device: string): Promise<boolean> {
    return this.commit.write(() => this.sql.remove.run(user, device).changes > 0);
  }

  removeToken(platform: Platform, token: string, unlessUpdatedAfterMs?: number): Promise<number> {
    return this.commit.write(
      () =>
        (unlessUpdatedAfterMs === undefined
          ? this.sql.removeToken.run(platform, token)
          : this.sql.removeTokenUnless.run(platform, token, unlessUpdatedAfterMs)
        ).changes,
    );
  }

  ofUsers(users: readonly string[]): Promise<Map<string, DeviceToken[]>> {
    return asPromise(() => {
      const found = new Map<string, DeviceToken[]>();
      for (const user of users) {
        if (found.has(user)) continue;
        const rows = this.sql.ofUser.all(user);
        if (rows.length > 0) found.set(user, rows.map(toToken).sort(byDevice));
      }
      return found;
    });
  }

  /**
   * Users in key order (UTF-8 byte order, which is JS order for ASCII ids); the cursor is the last user shown. Both
   * reads run in one synchronous call, so no write comes between them.
   */
  scan({ after, limit }: { after: string; limit: number }): Promise<{ items: DeviceToken[]; next?: string }> {
    return asPromise(() => {
      const users = this.sql.scanUsers.all(after, limit + 1);
      if (users.length === 0) return { items: [] };
      const last = users[Math.min(limit, users.length) - 1]!;
      const items: DeviceToken[] = [];
      let devices: DeviceToken[] = [];
      const flush = () => {
        items.push(...devices.sort(byDevice));
        devices = [];
      };
      for (const row of this.sql.scanRows.all(after, last)) {
        if (devices.length > 0 && devices[0]!.user !== row.user) flush();
        devices.push(toToken(row));
      }
      flush();
      return users.length > limit ? { items, next: last } : { items };
    });
  }
}

function toToken(row: Row): DeviceToken {
  return { ...row, previews: row.previews !== 0 };
}
