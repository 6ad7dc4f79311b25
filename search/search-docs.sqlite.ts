import { groupCommit, type GroupCommit } from '../lib/group-commit.ts';
import type { Sqlite } from '../lib/sqlite.ts';
import type { SearchDoc } from './search-index.ts';

/**
 * Table search_docs id → the document as JSON, or NULL once deleted (a recall): the NULL row keeps a replayed upsert
 * from bringing the message back. One row per message however many read it, so the in-process index is rebuilt from
 * this table at start (decision 0031: cheaper than keeping a snapshot in step with it).
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS search_docs (
  id TEXT PRIMARY KEY,
  doc TEXT
) WITHOUT ROWID;
`;

/** The embedded index's documents in the data directory, written through the database's group commit. */
export class SqliteSearchDocs {
  private readonly commit: GroupCommit;
  private readonly sql;

  constructor(db: Sqlite) {
    db.exec(SCHEMA);
    this.commit = groupCommit(db);
    this.sql = {
      put: db.prepare<[string, string | null]>(
        'INSERT INTO search_docs (id, doc) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET doc = excluded.doc',
      ),
      page: db.prepare<[string, number], { id: string; doc: string | null }>(
        'SELECT id, doc FROM search_docs WHERE id > ? ORDER BY id LIMIT ?',
      ),
    };
  }

  /** The rows after id `after` (by id), at most `limit`: live documents, and the ids deleted. */
  page(after: string, limit: number): { docs: SearchDoc[]; deleted: string[]; last?: string } {
    const docs: SearchDoc[] = [];
    const deleted: string[] = [];
    const rows = this.sql.page.all(after, limit);
    for (const row of rows) {
      if (row.doc === null) deleted.push(row.id);
      else docs.push(JSON.parse(row.doc) as SearchDoc);
    }
    const last = rows.at(-1)?.id;
    return last === undefined ? { docs, deleted } : { docs, deleted, last };
  }

  /** Writes each changed document (undefined: deleted) in one savepoint; resolves once committed. */
  save(changed: ReadonlyMap<string, SearchDoc | undefined>): Promise<void> {
    if (changed.size === 0) return Promise.resolve();
    return this.commit.write(() => {
      for (const [id, doc] of changed) this.sql.put.run(id, doc === undefined ? null : JSON.stringify(doc));
    });
  }
}
