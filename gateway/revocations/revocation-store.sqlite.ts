import { groupCommit, type GroupCommit } from '../../lib/group-commit.ts';
import { asPromise, type Sqlite } from '../../lib/sqlite.ts';
import { byUserDevice, type Revocation, type RevocationStore } from './revocation-store.ts';

/** Table token_revocations (user, device) → at_ms, expires_at_ms; expired rows are swept when one is added. */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS token_revocations (
  user TEXT NOT NULL,
  device TEXT NOT NULL,
  at_ms INTEGER NOT NULL,
  expires_at_ms INTEGER NOT NULL,
  PRIMARY KEY (user, device)
) WITHOUT ROWID;
`;

function prepare(db: Sqlite) {
  db.exec(SCHEMA);
  return {
    revoke: db.prepare<[string, string, number, number]>(
      `INSERT INTO token_revocations (user, device, at_ms, expires_at_ms) VALUES (?, ?, ?, ?)
       ON CONFLICT (user, device) DO UPDATE SET at_ms = max(at_ms, excluded.at_ms),
         expires_at_ms = max(expires_at_ms, excluded.expires_at_ms)`,
    ),
    sweep: db.prepare<[number]>('DELETE FROM token_revocations WHERE expires_at_ms <= ?'),
    active: db.prepare<[number], Revocation>(
      'SELECT user, device, at_ms AS atMs FROM token_revocations WHERE expires_at_ms > ?',
    ),
  };
}

/** Revocations in the embedded mode's SQLite database, written through its group commit. */
export class SqliteRevocationStore implements RevocationStore {
  private readonly sql: ReturnType<typeof prepare>;
  private readonly commit: GroupCommit;

  constructor(db: Sqlite) {
    this.commit = groupCommit(db);
    this.sql = prepare(db);
  }

  revoke(r: Revocation, expiresAtMs: number): Promise<void> {
    return this.commit.write(() => {
      this.sql.sweep.run(r.atMs);
      this.sql.revoke.run(r.user, r.device, r.atMs, expiresAtMs);
    });
  }

  active(nowMs: number): Promise<Revocation[]> {
    return asPromise(() => this.sql.active.all(nowMs).sort(byUserDevice));
  }
}
