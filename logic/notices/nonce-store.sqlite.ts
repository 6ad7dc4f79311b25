import type { Sqlite } from '../../lib/sqlite.ts';
import { groupCommit, type GroupCommit } from '../../lib/group-commit.ts';
import type { NonceStore } from './nonce-store.ts';

/**
 * logic_notice_nonces (app, nonce) → expires_at_ms. A row whose expiry has passed counts as absent; it stays on disk
 * until a sweep removes it or the pair is recorded again. The expiry index makes each sweep touch only expired rows.
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS logic_notice_nonces (
  app TEXT NOT NULL,
  nonce TEXT NOT NULL,
  expires_at_ms INTEGER NOT NULL,
  PRIMARY KEY (app, nonce)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS logic_notice_nonces_by_expiry ON logic_notice_nonces (expires_at_ms);
`;

/**
 * Every SWEEP_EVERY-th call removes up to SWEEP_BATCH expired rows: twice as many as calls in between, so the sweep
 * outpaces the inserts and catches up, without an index seek on every call.
 */
const SWEEP_EVERY = 64;
const SWEEP_BATCH = 2 * SWEEP_EVERY;

function prepare(db: Sqlite) {
  db.exec(SCHEMA);
  return {
    // One statement: inserts the pair, or renews it only if expired; `changes` is 0 exactly when it was live.
    record: db.prepare<[string, string, number, number]>(
      `INSERT INTO logic_notice_nonces (app, nonce, expires_at_ms) VALUES (?, ?, ?)
       ON CONFLICT (app, nonce) DO UPDATE SET expires_at_ms = excluded.expires_at_ms WHERE expires_at_ms <= ?`,
    ),
    sweep: db.prepare<[number, number]>(
      `DELETE FROM logic_notice_nonces WHERE (app, nonce) IN
         (SELECT app, nonce FROM logic_notice_nonces WHERE expires_at_ms <= ? ORDER BY expires_at_ms LIMIT ?)`,
    ),
  };
}

/**
 * Nonces in the embedded mode's SQLite database; `now` is the clock expiry is measured by. A call answers once its
 * write is committed (group commit: a few milliseconds), so a nonce accepted before a crash is still refused after it.
 */
export class SqliteNonceStore implements NonceStore {
  private readonly sql: ReturnType<typeof prepare>;
  private readonly commit: GroupCommit;
  private calls = 0;

  constructor(
    db: Sqlite,
    private readonly now: () => number = Date.now,
  ) {
    this.commit = groupCommit(db);
    this.sql = prepare(db);
  }

  seen(appId: string, nonce: string, ttlMs: number): Promise<boolean> {
    return this.commit.write(() => {
      const now = this.now();
      if (++this.calls % SWEEP_EVERY === 0) this.sql.sweep.run(now, SWEEP_BATCH);
      return this.sql.record.run(appId, nonce, now + Math.ceil(ttlMs), now).changes === 0;
    });
  }
}
