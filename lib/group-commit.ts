import type { Sqlite } from './sqlite.ts';

/**
 * Group commit for one SQLite database: the writes of one event-loop turn share one transaction, committed once the
 * turn is done (setImmediate). A write either settles when that commit has (`write`), or is staged for a caller
 * that waits for `durable()` before it tells anyone (`stage`). A send makes about five writes
 * (sequence, outcome, inbox rows, unread counts, done mark), and many sends are under way at once: as separate
 * commits each paid a write to the log, which saturated the embedded server at 2,500 messages/s (decision 0021).
 *
 * Each write runs in a savepoint of its own, so one that throws takes back only its own changes. A caller is told of
 * its write only once it is committed, so nothing acknowledged rests on an uncommitted write; a read on this
 * connection in the same turn may see a write a few microseconds before its commit (one process owns the file).
 */
export class GroupCommit {
  private batch: { done: Promise<void>; resolve: () => void; reject: (err: unknown) => void } | undefined;
  private readonly inSavepoint: (work: () => unknown) => unknown;
  private lastCommitMs = -Infinity;

  constructor(private readonly db: Sqlite) {
    this.inSavepoint = db.transaction((work: () => unknown) => work());
  }

  /** Runs `work` now, in this turn's transaction; resolves with its result once the transaction is committed. */
  write<T>(work: () => T): Promise<T> {
    const { done } = this.begin();
    let result: T;
    try {
      result = this.inSavepoint(work) as T;
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    return done.then(() => result);
  }

  /**
   * Runs `work` (one statement, or a db.transaction) now, in this turn's transaction, and returns at once: for writes
   * whose caller waits for `durable()` before it tells anyone (a send's steps: the sender's answer and the deliveries
   * wait for the commit). Later writes see it; a crash before the commit loses it together with everything after it,
   * never alone.
   */
  stage<T>(work: () => T): T {
    this.begin();
    // No savepoint of its own (a send makes many staged writes, and each savepoint is two more statements): staged
    // work is one statement, or a db.transaction, which nests as a savepoint and takes back its own changes.
    return work();
  }

  /** `stage` as a port's async call: a throw becomes a rejection. */
  staged<T>(work: () => T): Promise<T> {
    try {
      return Promise.resolve(this.stage(work));
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  /** Resolves once everything written so far is committed (at once when nothing waits for a commit). */
  durable(): Promise<void> {
    return this.batch ? this.batch.done : Promise.resolve();
  }

  /** Commits the open transaction now (before a write that must commit on its own). */
  flush(): void {
    const batch = this.batch;
    if (!batch) return;
    this.batch = undefined;
    this.lastCommitMs = performance.now();
    if (!this.db.open) return batch.reject(new Error('database closed before its writes were committed'));
    try {
      this.db.exec('COMMIT');
      batch.resolve();
    } catch (err) {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      batch.reject(err);
    }
  }

  private begin() {
    if (this.batch) return this.batch;
    this.db.exec('BEGIN');
    let resolve!: () => void;
    let reject!: (err: unknown) => void;
    const done = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
    // Its writers hear of a failed commit through their own promises; a batch whose only write threw has none.
    done.catch(() => undefined);
    this.batch = { done, resolve, reject };
    // At most one commit per COMMIT_INTERVAL_MS: under load, the writes of several turns share a commit, and with it
    // the pages they touch (a commit writes every page it changed to the log); when idle, the turn's end commits.
    const wait = this.lastCommitMs + COMMIT_INTERVAL_MS - performance.now();
    if (wait > 0) setTimeout(() => this.flush(), wait);
    else setImmediate(() => this.flush());
    return this.batch;
  }
}

/** The shortest time between two commits of one database (what a send's answer may wait at most for its commit). */
const COMMIT_INTERVAL_MS = 2;

const commits = new WeakMap<Sqlite, GroupCommit>();

/** The one GroupCommit of a database, shared by every adapter writing to it. */
export function groupCommit(db: Sqlite): GroupCommit {
  let commit = commits.get(db);
  if (!commit) commits.set(db, (commit = new GroupCommit(db)));
  return commit;
}

/** Commits what is staged in `db`, then closes it: a write staged and not yet committed would be rolled back. */
export function closeDatabase(db: Sqlite): void {
  commits.get(db)?.flush();
  db.close();
}
