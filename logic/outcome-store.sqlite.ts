import { bufferView } from '../lib/buffer-view.ts';
import { asPromise, type Sqlite } from '../lib/sqlite.ts';
import { SendOutcome } from '../proto/gen/im/v1/store.pb.ts';
import type { OutcomeStore } from './outcome-store.ts';
import { groupCommit, type GroupCommit } from '../lib/group-commit.ts';

/**
 * logic_send_outcomes (key) → outcome (SendOutcome protobuf, stored with done = false), done (0/1: the done mark,
 * a column of its own so marking is one small update), expires_at_ms. A row whose expiry has passed is absent to
 * every method; it stays on disk until a sweep removes it. The expiry index makes each sweep touch only expired
 * rows. Not WITHOUT ROWID: an outcome holds a whole message, too large a row for a clustered key.
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS logic_send_outcomes (
  key TEXT PRIMARY KEY,
  outcome BLOB NOT NULL,
  done INTEGER NOT NULL,
  expires_at_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS logic_send_outcomes_by_expiry ON logic_send_outcomes (expires_at_ms);
`;

/**
 * Every SWEEP_EVERY-th put removes up to SWEEP_BATCH expired rows: twice as many as puts in between, so the sweep
 * outpaces them and catches up, without an index seek on every put of a send.
 */
const SWEEP_EVERY = 64;
const SWEEP_BATCH = 2 * SWEEP_EVERY;

interface Row {
  outcome: Buffer;
  done: 0 | 1;
}

function prepare(db: Sqlite) {
  db.exec(SCHEMA);
  return {
    get: db.prepare<[string, number], Row>(
      'SELECT outcome, done FROM logic_send_outcomes WHERE key = ? AND expires_at_ms > ?',
    ),
    put: db.prepare<[string, Buffer, number, number]>(
      'INSERT OR REPLACE INTO logic_send_outcomes (key, outcome, done, expires_at_ms) VALUES (?, ?, ?, ?)',
    ),
    markDone: db.prepare<[number, string, number]>(
      'UPDATE logic_send_outcomes SET done = 1, expires_at_ms = ? WHERE key = ? AND expires_at_ms > ?',
    ),
    replace: db.prepare<[Buffer, number, string, number]>(
      'UPDATE logic_send_outcomes SET outcome = ?, done = max(done, ?) WHERE key = ? AND expires_at_ms > ?',
    ),
    sweep: db.prepare<[number, number]>(
      `DELETE FROM logic_send_outcomes WHERE rowid IN
         (SELECT rowid FROM logic_send_outcomes WHERE expires_at_ms <= ? ORDER BY expires_at_ms LIMIT ?)`,
    ),
  };
}

/** Send outcomes in the embedded mode's SQLite database; `now` is the clock expiry is measured by. */
export class SqliteOutcomeStore implements OutcomeStore {
  private readonly sql: ReturnType<typeof prepare>;
  private readonly putTx: (key: string, outcome: SendOutcome, ttlMs: number) => SendOutcome;

  private readonly commit: GroupCommit;
  private puts = 0;

  constructor(
    db: Sqlite,
    private readonly now: () => number = Date.now,
  ) {
    this.commit = groupCommit(db);
    this.sql = prepare(db);
    this.putTx = db.transaction((key: string, outcome: SendOutcome, ttlMs: number) => {
      const now = this.now();
      if (++this.puts % SWEEP_EVERY === 0) this.sql.sweep.run(now, SWEEP_BATCH);
      const existing = this.sql.get.get(key, now);
      if (existing) return decode(existing);
      this.sql.put.run(key, encode(outcome), outcome.done ? 1 : 0, now + ttlMs);
      return outcome;
    });
  }

  get(key: string): Promise<SendOutcome | undefined> {
    return asPromise(() => {
      const row = this.sql.get.get(key, this.now());
      return row && decode(row);
    });
  }

  putIfAbsent(key: string, outcome: SendOutcome, ttlMs: number): Promise<SendOutcome> {
    return this.commit.staged(() => this.putTx(key, outcome, ttlMs));
  }

  markDone(key: string, ttlMs: number): Promise<void> {
    return this.commit.staged(() => {
      const now = this.now();
      this.sql.markDone.run(now + ttlMs, key, now);
    });
  }

  replace(key: string, outcome: SendOutcome): Promise<boolean> {
    return this.commit.staged(
      () => this.sql.replace.run(encode(outcome), outcome.done ? 1 : 0, key, this.now()).changes > 0,
    );
  }
}

function encode(outcome: SendOutcome): Buffer {
  return bufferView(SendOutcome.encode({ ...outcome, done: false }).finish());
}

function decode(row: Row): SendOutcome {
  return { ...SendOutcome.decode(row.outcome), done: row.done === 1 };
}
