import { groupCommit, type GroupCommit } from '../../lib/group-commit.ts';
import { asPromise, type Sqlite } from '../../lib/sqlite.ts';
import { copyPush, DEFAULT_DEAD_LETTER_CAPACITY, type DeadLetter, type DeadLetterStore } from './dead-letter-store.ts';
import type { MobilePush } from './push-sender.ts';

/**
 * Table push_dead_letters, id → the letter, the push as JSON (copyPush's fields: an absent alert or sound stays
 * absent). Text compares by its UTF-8 bytes (BINARY), the port's id order, so list reads the key in order. The index
 * by (at_ms, id) is the order in which letters past capacity go.
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS push_dead_letters (
  id TEXT NOT NULL PRIMARY KEY,
  user TEXT NOT NULL,
  device TEXT NOT NULL,
  push TEXT NOT NULL,
  reason TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  at_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS push_dead_letters_by_age ON push_dead_letters (at_ms, id);
`;

const COLUMNS = 'id, user, device, push, reason, attempts, at_ms AS atMs';

interface Row {
  id: string;
  user: string;
  device: string;
  push: string;
  reason: string;
  attempts: number;
  atMs: number;
}

function prepare(db: Sqlite) {
  db.exec(SCHEMA);
  return {
    put: db.prepare<[string, string, string, string, string, number, number]>(
      `INSERT INTO push_dead_letters (id, user, device, push, reason, attempts, at_ms) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET user = excluded.user, device = excluded.device, push = excluded.push,
         reason = excluded.reason, attempts = excluded.attempts, at_ms = excluded.at_ms`,
    ),
    /** Drops the oldest past `capacity` (the bound parameter). */
    trim: db.prepare<[number]>(
      `DELETE FROM push_dead_letters WHERE id IN (
         SELECT id FROM push_dead_letters ORDER BY at_ms, id
         LIMIT max((SELECT count(*) FROM push_dead_letters) - ?, 0))`,
    ),
    page: db.prepare<[string, number], Row>(
      `SELECT ${COLUMNS} FROM push_dead_letters WHERE id > ? ORDER BY id LIMIT ?`,
    ),
    take: db.prepare<[string], Row>(`DELETE FROM push_dead_letters WHERE id = ? RETURNING ${COLUMNS}`),
  };
}

export interface SqliteDeadLetterStoreOptions {
  /** Letters kept at most; past it the oldest by (atMs, id) go. Default DEFAULT_DEAD_LETTER_CAPACITY. */
  capacity?: number;
}

/**
 * Dead letters in the embedded mode's SQLite database. Writes go through the database's group commit, so a write's
 * promise resolves once it is committed; an add (the letter put, the oldest past capacity dropped) and a take (its
 * letters deleted and returned) are each one savepoint.
 */
export class SqliteDeadLetterStore implements DeadLetterStore {
  private readonly sql: ReturnType<typeof prepare>;
  private readonly commit: GroupCommit;
  private readonly capacity: number;

  constructor(db: Sqlite, options: SqliteDeadLetterStoreOptions = {}) {
    this.commit = groupCommit(db);
    this.sql = prepare(db);
    this.capacity = options.capacity ?? DEFAULT_DEAD_LETTER_CAPACITY;
  }

  add(letter: DeadLetter): Promise<void> {
    const push = JSON.stringify(copyPush(letter.push));
    return this.commit.write(() => {
      this.sql.put.run(letter.id, letter.user, letter.device, push, letter.reason, letter.attempts, letter.atMs);
      this.sql.trim.run(this.capacity);
    });
  }

  list(after: string, limit: number): Promise<{ items: DeadLetter[]; next?: string }> {
    return asPromise(() => {
      const rows = this.sql.page.all(after, limit + 1);
      const items = rows.slice(0, limit).map(toLetter);
      return rows.length > limit ? { items, next: items.at(-1)!.id } : { items };
    });
  }

  take(ids: readonly string[]): Promise<DeadLetter[]> {
    return this.commit.write(() =>
      ids.flatMap((id) => {
        const row = this.sql.take.get(id);
        return row ? [toLetter(row)] : [];
      }),
    );
  }
}

function toLetter(row: Row): DeadLetter {
  return {
    id: row.id,
    user: row.user,
    device: row.device,
    push: copyPush(JSON.parse(row.push) as MobilePush),
    reason: row.reason,
    attempts: row.attempts,
    atMs: row.atMs,
  };
}
