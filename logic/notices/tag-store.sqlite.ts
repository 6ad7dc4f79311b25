import { groupCommit, type GroupCommit } from '../../lib/group-commit.ts';
import { asPromise, type Sqlite } from '../../lib/sqlite.ts';
import type { TagStore, UserTag } from './tag-store.ts';

/**
 * Table logic_notice_tags (app_id, tag, user) → since_ms: a tag's users in key order, so counting one reads only its
 * rows; a covering index by user serves tagsOf in (app_id, tag) order. TEXT compares as bytes (BINARY collation):
 * the order the port promises for ASCII app ids and tags.
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS logic_notice_tags (
  app_id TEXT NOT NULL,
  tag TEXT NOT NULL,
  user TEXT NOT NULL,
  since_ms INTEGER NOT NULL,
  PRIMARY KEY (app_id, tag, user)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS logic_notice_tags_by_user ON logic_notice_tags (user, app_id, tag, since_ms);
`;

function prepare(db: Sqlite) {
  db.exec(SCHEMA);
  return {
    tag: db.prepare<[string, string, string, number]>(
      'INSERT INTO logic_notice_tags (app_id, tag, user, since_ms) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING',
    ),
    untag: db.prepare<[string, string, string]>(
      'DELETE FROM logic_notice_tags WHERE app_id = ? AND tag = ? AND user = ?',
    ),
    tagsOf: db.prepare<[string], UserTag>(
      `SELECT app_id AS appId, tag, since_ms AS sinceMs FROM logic_notice_tags WHERE user = ?
       ORDER BY app_id, tag`,
    ),
    // One more than asked tells whether another page follows.
    usersOf: db
      .prepare<[string, string, string, number], string>(
        'SELECT user FROM logic_notice_tags WHERE app_id = ? AND tag = ? AND user > ? ORDER BY user LIMIT ?',
      )
      .pluck(),
    count: db
      .prepare<[string, string], number>('SELECT count(*) FROM logic_notice_tags WHERE app_id = ? AND tag = ?')
      .pluck(),
  };
}

/**
 * Tags in the embedded mode's SQLite database. Writes go through the database's group commit, so a write's promise
 * resolves once it is committed; a call's users change in one transaction.
 */
export class SqliteTagStore implements TagStore {
  private readonly sql: ReturnType<typeof prepare>;
  private readonly commit: GroupCommit;

  constructor(db: Sqlite) {
    this.commit = groupCommit(db);
    this.sql = prepare(db);
  }

  tag(appId: string, tag: string, users: readonly string[], atMs: number): Promise<number> {
    return this.commit.write(() => {
      let added = 0;
      for (const user of users) added += this.sql.tag.run(appId, tag, user, atMs).changes;
      return added;
    });
  }

  untag(appId: string, tag: string, users: readonly string[]): Promise<number> {
    return this.commit.write(() => {
      let removed = 0;
      for (const user of users) removed += this.sql.untag.run(appId, tag, user).changes;
      return removed;
    });
  }

  tagsOf(user: string): Promise<UserTag[]> {
    return asPromise(() => this.sql.tagsOf.all(user));
  }

  count(appId: string, tag: string): Promise<number> {
    return asPromise(() => this.sql.count.get(appId, tag)!);
  }

  usersOf(
    appId: string,
    tag: string,
    { after, limit }: { after: string; limit: number },
  ): Promise<{ items: string[]; next?: string }> {
    return asPromise(() => {
      const users = this.sql.usersOf.all(appId, tag, after, limit + 1);
      const items = users.slice(0, limit);
      return users.length > limit ? { items, next: items.at(-1)! } : { items };
    });
  }
}
