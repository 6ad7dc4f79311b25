// AppStore on Cassandra: table apps (infra/cql/0007_notice_apps.cql), every app in one partition clustered by id.
// The row changes only by lightweight transactions (create, revoke), which serializes them: a duplicate id is
// refused and racing revocations keep the first time. Apps change rarely, so Paxos on one partition costs nothing.
import { long, toNumber, type Client } from '../../lib/cassandra.ts';
import type { App, AppStore, Page, PageRequest, Scope } from './app-store.ts';

/** The one partition every app lives in. */
const SHARD = 0;

const COLUMNS =
  'app_id, name, scopes, secret, created_at_ms, revoked_at_ms, requests_per_second, recipients_per_second';

const CQL = {
  create: `INSERT INTO apps (shard, ${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) IF NOT EXISTS`,
  get: `SELECT ${COLUMNS} FROM apps WHERE shard = ? AND app_id = ?`,
  list: `SELECT ${COLUMNS} FROM apps WHERE shard = ? AND app_id > ? LIMIT ?`,
  revoke: 'UPDATE apps SET revoked_at_ms = ? WHERE shard = ? AND app_id = ? IF revoked_at_ms = null',
} as const;

interface Row {
  get(column: string): unknown;
}

export class CassandraAppStore implements AppStore {
  constructor(private readonly client: Client) {}

  async create(app: App): Promise<void> {
    const { id, name, scopes, secret, createdAtMs, revokedAtMs, rateLimits } = app;
    const result = await this.client.execute(CQL.create, [
      SHARD,
      id,
      name,
      scopes,
      secret,
      long(createdAtMs),
      revokedAtMs === undefined ? null : long(revokedAtMs),
      rateLimits.requestsPerSecond,
      rateLimits.recipientsPerSecond,
    ]);
    if (!result.wasApplied()) throw new Error(`app ${id} exists`);
  }

  async get(id: string): Promise<App | undefined> {
    const row = (await this.client.execute(CQL.get, [SHARD, id])).first();
    return row ? toApp(row) : undefined;
  }

  async list({ after, limit }: PageRequest): Promise<Page<App>> {
    // One row more than asked tells whether another page follows. The clustering order is UTF-8 byte order, which
    // is JS order for the ASCII ids the port promises.
    const rows = (await this.client.execute(CQL.list, [SHARD, after, limit + 1])).rows;
    const items = rows.slice(0, limit).map(toApp);
    return rows.length > limit ? { items, next: items.at(-1)!.id } : { items };
  }

  async revoke(id: string, atMs: number): Promise<App | undefined> {
    // The existence check matters: `IF revoked_at_ms = null` would also hold for a row that is not there.
    if (!(await this.get(id))) return undefined;
    // Not applied when already revoked: the first time stays.
    await this.client.execute(CQL.revoke, [long(atMs), SHARD, id]);
    return this.get(id);
  }
}

function toApp(row: Row): App {
  const revoked = row.get('revoked_at_ms');
  const app: App = {
    id: row.get('app_id') as string,
    name: row.get('name') as string,
    // An empty list is stored as null.
    scopes: ((row.get('scopes') as Scope[] | null) ?? []).slice(),
    secret: row.get('secret') as string,
    createdAtMs: toNumber(row.get('created_at_ms')),
    rateLimits: {
      requestsPerSecond: toNumber(row.get('requests_per_second')),
      recipientsPerSecond: toNumber(row.get('recipients_per_second')),
    },
  };
  if (revoked !== null && revoked !== undefined) app.revokedAtMs = toNumber(revoked);
  return app;
}
