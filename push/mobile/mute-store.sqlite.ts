import { groupCommit, type GroupCommit } from '../../lib/group-commit.ts';
import { asPromise, type Sqlite } from '../../lib/sqlite.ts';
import { byConversation, type Mute, type MuteStore } from './mute-store.ts';

/**
 * Table push_mutes (user, conversation) → until_ms: one row per mute, a user's in key order, which ofUser reads.
 * Unmuting deletes the row; an expired mute keeps its row until it is set again (a user has a row per conversation
 * they muted at most), and reads leave it out. ofUser's rows come in UTF-8 byte order and are sorted as JS sorts,
 * like every adapter's.
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS push_mutes (
  user TEXT NOT NULL,
  conversation TEXT NOT NULL,
  until_ms INTEGER NOT NULL,
  PRIMARY KEY (user, conversation)
) WITHOUT ROWID;
`;

function prepare(db: Sqlite) {
  db.exec(SCHEMA);
  return {
    set: db.prepare<[string, string, number]>(
      `INSERT INTO push_mutes (user, conversation, until_ms) VALUES (?, ?, ?)
       ON CONFLICT (user, conversation) DO UPDATE SET until_ms = excluded.until_ms`,
    ),
    unset: db.prepare<[string, string]>('DELETE FROM push_mutes WHERE user = ? AND conversation = ?'),
    muted: db
      .prepare<[string, string, number], number>(
        'SELECT 1 FROM push_mutes WHERE user = ? AND conversation = ? AND until_ms > ?',
      )
      .pluck(),
    ofUser: db.prepare<[string, number], Mute>(
      'SELECT conversation, until_ms AS untilMs FROM push_mutes WHERE user = ? AND until_ms > ?',
    ),
  };
}

/**
 * Mutes in the embedded mode's SQLite database. Writes go through the database's group commit, so a set's promise
 * resolves once it is committed. mutedOf is a primary-key lookup per pair, all in one synchronous stretch.
 */
export class SqliteMuteStore implements MuteStore {
  private readonly sql: ReturnType<typeof prepare>;
  private readonly commit: GroupCommit;

  constructor(db: Sqlite) {
    this.commit = groupCommit(db);
    this.sql = prepare(db);
  }

  set(user: string, conversation: string, untilMs: number): Promise<void> {
    return this.commit.write(() => {
      if (untilMs === 0) this.sql.unset.run(user, conversation);
      else this.sql.set.run(user, conversation, untilMs);
    });
  }

  mutedOf(pairs: readonly { user: string; conversation: string }[], nowMs: number): Promise<boolean[]> {
    return asPromise(() => pairs.map((p) => this.sql.muted.get(p.user, p.conversation, nowMs) !== undefined));
  }

  ofUser(user: string, nowMs: number): Promise<Mute[]> {
    return asPromise(() => this.sql.ofUser.all(user, nowMs).sort(byConversation));
  }
}
