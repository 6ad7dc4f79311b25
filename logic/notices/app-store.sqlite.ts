import { groupCommit, type GroupCommit } from '../../lib/group-commit.ts';
import { asPromise, type Sqlite } from '../../lib/sqlite.ts';
import type { App, AppStore, Page, PageRequest, Scope } from './app-store.ts';

/**
 * Table logic_apps (id) → name, scopes (a JSON array, in stored order), secret, created_at_ms, revoked_at_ms (null
 * while active), and the two rate limits. TEXT compares as bytes (BINARY collation): the order the port promises
 * for ASCII ids.
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS logic_apps (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  scopes TEXT NOT NULL,
  secret TEXT NOT NULL,
  created_at_ms INTEGER NOT NULL,
  revoked_at_ms INTEGER,
  requests_per_second INTEGER NOT NULL,
  recipients_per_second INTEGER NOT NULL
) WITHOUT ROWID;
`;

interface AppRow {
  id: string;
  name: string;
  scopes: string;
  secret: string;
  created_at_ms: number;
  revoked_at_ms: number | null;
  requests_per_second: number;
  recipients_per_second: number;
}

type InsertParams = [string, string, string, string, number, number | null, number, number];

function prepare(db: Sqlite) {
  db.exec(SCHEMA);
  return {
    insert: db.prepare<InsertParams>(
      `INSERT INTO logic_apps (id, name, scopes, secret, created_at_ms, revoked_at_ms, requests_per_second,
       recipients_per_second) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
    ),
    get: db.prepare<[string], AppRow>('SELECT * FROM logic_apps WHERE id = ?'),
    list: db.prepare<[string, number], AppRow>('SELECT * FROM logic_apps WHERE id > ? ORDER BY id LIMIT ?'),
    revoke: db.prepare<[number, string]>(
      'UPDATE logic_apps SET revoked_at_ms = coalesce(revoked_at_ms, ?) WHERE id = ?',
    ),
  };
}

/**
 * Apps in the embedded mode's SQLite database. Writes go through the database's group commit, so a write's promise
 * resolves once it is committed.
 */
export class SqliteAppStore implements AppStore {
  private readonly sql: ReturnType<typeof prepare>;
  private readonly commit: GroupCommit;

  constructor(db: Sqlite) {
    this.commit = groupCommit(db);
    this.sql = prepare(db);
  }

  create(app: App): Promise<void> {
    return this.commit.write(() => {
      const { id, name, scopes, secret, createdAtMs, revokedAtMs, rateLimits } = app;
      const params: InsertParams = [
        id,
        name,
        JSON.stringify(scopes),
        secret,
        createdAtMs,
        revokedAtMs ?? null,
        rateLimits.requestsPerSecond,
        rateLimits.recipientsPerSecond,
      ];
      if (this.sql.insert.run(...params).changes === 0) throw new Error(`app ${id} exists`);
    });
  }

  get(id: string): Promise<App | undefined> {
    return asPromise(() => {
      const row = this.sql.get.get(id);
      return row && toApp(row);
    });
  }

  list({ after, limit }: PageRequest): Promise<Page<App>> {
    return asPromise(() => {
      // One row more than asked tells whether another page follows.
      const rows = this.sql.list.all(after, limit + 1);
      const items = rows.slice(0, limit).map(toApp);
      return rows.length > limit ? { items, next: items.at(-1)!.id } : { items };
    });
  }

  revoke(id: string, atMs: number): Promise<App | undefined> {
    return this.commit.write(() => {
      this.sql.revoke.run(atMs, id);
      const row = this.sql.get.get(id);
      return row && toApp(row);
    });
  }
}

function toApp(row: AppRow): App {
  const app: App = {
    id: row.id,
    name: row.name,
    scopes: JSON.parse(row.scopes) as Scope[],
    secret: row.secret,
    createdAtMs: row.created_at_ms,
    rateLimits: { requestsPerSecond: row.requests_per_second, recipientsPerSecond: row.recipients_per_second },
  };
  if (row.revoked_at_ms !== null) app.revokedAtMs = row.revoked_at_ms;
  return app;
}
