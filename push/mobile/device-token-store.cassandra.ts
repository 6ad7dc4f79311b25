// DeviceTokenStore on Cassandra: device_tokens (partition per user, a row per device) and device_tokens_by_token
// (partition per (platform, token): the device holding it), in infra/cql/0010_push_device_tokens.cql.
//
// No lightweight transactions: a registration's two rows are written in one logged batch, so both carry the batch's
// write time, and every removal is a delete USING TIMESTAMP of the write time of what it read. Such a delete takes
// out exactly the registration it saw: a device that registered again in the meantime wrote later, and keeps its new
// registration. So a token moving to a new device deletes its previous device's row as of when that device took it;
// a device's new token deletes the index row of its old one as of when it was registered (a later holder of the old
// token keeps its index row); a dead token deletes what its index row points to, if that row still holds it.
//
// Two devices registering the same token at the same moment can both keep it (the index names the later); the next
// registration of the token settles it. That is a phone registering for two users at once, the same phone.
//
// TOKEN is a reserved word of CQL, so the column is "token", quoted, in every statement.
import type { types } from 'cassandra-driver';
import { DEFAULT_CONCURRENCY, forEachLimit, long, toNumber, type Client } from '../../lib/cassandra.ts';
import { byDevice, type DeviceToken, type DeviceTokenStore, type Platform } from './device-token-store.ts';

const COLUMNS = 'user_id, device, platform, "token", topic, environment, locale, previews, updated_at_ms';

const CQL = {
  device: 'SELECT platform, "token", WRITETIME("token") AS written FROM device_tokens WHERE user_id = ? AND device = ?',
  deviceForToken:
    'SELECT platform, "token", updated_at_ms, WRITETIME("token") AS written FROM device_tokens WHERE user_id = ? AND device = ?',
  holder:
    'SELECT user_id, device, WRITETIME(device) AS written FROM device_tokens_by_token WHERE platform = ? AND "token" = ?',
  put: `INSERT INTO device_tokens (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  putByToken:
    'INSERT INTO device_tokens_by_token (platform, "token", user_id, device, updated_at_ms) VALUES (?, ?, ?, ?, ?)',
  deleteDevice: 'DELETE FROM device_tokens USING TIMESTAMP ? WHERE user_id = ? AND device = ?',
  deleteByToken: 'DELETE FROM device_tokens_by_token USING TIMESTAMP ? WHERE platform = ? AND "token" = ?',
  ofUsers: `SELECT ${COLUMNS} FROM device_tokens WHERE user_id IN ?`,
  scanFirst: `SELECT ${COLUMNS}, token(user_id) AS position FROM device_tokens`,
  scanFrom: `SELECT ${COLUMNS}, token(user_id) AS position FROM device_tokens WHERE token(user_id) >= token(?)`,
} as const;

/** Users per `IN (...)` when reading registrations. */
const IN_CHUNK = 100;

const loggedBatch = { prepare: true, logged: true } as const;

export interface CassandraDeviceTokenStoreOptions {
  /** In-flight requests per call. Default DEFAULT_CONCURRENCY. */
  concurrency?: number;
}

export class CassandraDeviceTokenStore implements DeviceTokenStore {
  private readonly concurrency: number;

  constructor(
    private readonly client: Client,
    options: CassandraDeviceTokenStoreOptions = {},
  ) {
    this.concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  }

  async put(t: DeviceToken): Promise<void> {
    const [previous, holder] = await Promise.all([
      this.client.execute(CQL.device, [t.user, t.device]).then((r) => r.first()),
      this.client.execute(CQL.holder, [t.platform, t.token]).then((r) => r.first()),
    ]);
    // The token moves: its previous device loses the registration it made with it (before this one is written, so
    // a crash in between leaves the token on neither device, and the client registers again, never on both).
    if (holder && (holder.get('user_id') !== t.user || holder.get('device') !== t.device))
      await this.client.execute(CQL.deleteDevice, [
        written(holder),
        holder.get('user_id') as string,
        holder.get('device') as string,
      ]);
    await this.client.batch(
      [
        {
          query: CQL.put,
          params: [
            t.user,
            t.device,
            t.platform,
            t.token,
            t.topic,
            t.environment,
            t.locale,
            t.previews,
            long(t.updatedAtMs),
          ],
        },
        { query: CQL.putByToken, params: [t.platform, t.token, t.user, t.device, long(t.updatedAtMs)] },
      ],
      loggedBatch,
    );
    // A new token: the old one's index row goes, unless another device registered it since (a later write).
    if (previous && (previous.get('platform') !== t.platform || previous.get('token') !== t.token))
      await this.client.execute(CQL.deleteByToken, [
        written(previous),
        previous.get('platform') as string,
        previous.get('token') as string,
      ]);
  }

  async remove(user: string, device: string): Promise<boolean> {
    const row = (await this.client.execute(CQL.device, [user, device])).first();
    if (!row) return false;
    const at = written(row);
    await this.client.execute(CQL.deleteDevice, [at, user, device]);
    // The index row was written with the device's row, at the same time; a later holder of the token wrote later.
    await this.client.execute(CQL.deleteByToken, [at, row.get('platform') as string, row.get('token') as string]);
    return true;
  }

  async removeToken(platform: Platform, token: string, unlessUpdatedAfterMs?: number): Promise<number> {
    const holder = (await this.client.execute(CQL.holder, [platform, token])).first();
    if (!holder) return 0;
    const user = holder.get('user_id') as string;
    const device = holder.get('device') as string;
    const row = (await this.client.execute(CQL.deviceForToken, [user, device])).first();
    const holds = row !== null && row.get('platform') === platform && row.get('token') === token;
    if (holds && unlessUpdatedAfterMs !== undefined && toNumber(row.get('updated_at_ms')) > unlessUpdatedAfterMs)
      return 0;
    if (holds) await this.client.execute(CQL.deleteDevice, [written(row), user, device]);
    // Removed, or an index row whose device holds the token no longer: either way it goes.
    await this.client.execute(CQL.deleteByToken, [written(holder), platform, token]);
    return holds ? 1 : 0;
  }

  async ofUsers(users: readonly string[]): Promise<Map<string, DeviceToken[]>> {
    const unique = [...new Set(users)];
    const chunks = Array.from({ length: Math.ceil(unique.length / IN_CHUNK) }, (_, i) =>
      unique.slice(i * IN_CHUNK, (i + 1) * IN_CHUNK),
    );
    const found = new Map<string, DeviceToken[]>();
    await forEachLimit(chunks, this.concurrency, async (chunk) => {
      for (const row of (await this.client.execute(CQL.ofUsers, [chunk])).rows) {
        const token = toToken(row);
        const tokens = found.get(token.user);
        if (tokens) tokens.push(token);
        else found.set(token.user, [token]);
      }
    });
    // Clustered by device in UTF-8 byte order; sort as JS does so every adapter agrees.
    for (const tokens of found.values()) tokens.sort(byDevice);
    return found;
  }

  /**
   * Users in the order Cassandra keeps partitions: by token(user_id), then (two users of one token) by the user's
   * bytes. The cursor is the last user shown; the next page reads from its token on, leaving out the users of that
   * token up to and including it, so a token shared by two users neither repeats nor skips one. Rows come a request
   * at a time (the driver's paging), a user's devices one after the other, until a user beyond `limit` shows.
   */
  async scan({ after, limit }: { after: string; limit: number }): Promise<{ items: DeviceToken[]; next?: string }> {
    const from = after === '' ? undefined : String(this.client.metadata.newToken([Buffer.from(after)]).getValue());
    const rows = await this.client.execute(after === '' ? CQL.scanFirst : CQL.scanFrom, after === '' ? [] : [after], {
      fetchSize: Math.min(5_000, 2 * limit + 2),
    });
    const items: DeviceToken[] = [];
    let devices: DeviceToken[] = [];
    const flush = () => {
      items.push(...devices.sort(byDevice));
      devices = [];
    };
    let users = 0;
    let last: string | undefined;
    for await (const row of rows) {
      const user = row.get('user_id') as string;
      if (
        from !== undefined &&
        String(row.get('position')) === from &&
        Buffer.compare(Buffer.from(user), Buffer.from(after)) <= 0
      )
        continue;
      if (user !== last) {
        // A user beyond the page: there is more, and the page ends with the user before.
        if (users === limit) {
          flush();
          return { items, next: last! };
        }
        flush();
        last = user;
        users++;
      }
      devices.push(toToken(row));
    }
    flush();
    return { items };
  }
}

/** The write time (µs) a row was read with, as `written`. */
function written(row: types.Row): types.Long {
  return row.get('written') as types.Long;
}

function toToken(row: types.Row): DeviceToken {
  return {
    user: row.get('user_id') as string,
    device: row.get('device') as string,
    platform: row.get('platform') as Platform,
    token: row.get('token') as string,
    topic: row.get('topic') as string,
    environment: row.get('environment') as DeviceToken['environment'],
    locale: row.get('locale') as string,
    previews: row.get('previews') as boolean,
    updatedAtMs: toNumber(row.get('updated_at_ms')),
  };
}
