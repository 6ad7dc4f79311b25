import type { Sqlite } from './sqlite.ts';

/**
 * Group commit for one SQLite database: the writes of one event-loop turn share one transaction, committed once the
 * turn is done (setImmediate), and each write's promise settles when that commit has. A send makes about five writes
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

  /** Commits the open transaction now (before a write that must commit on its own). */
  flush(): void {
    const batch = this.batch;
    if (!batch) return;
    this.batch = undefined;
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
    setImmediate(() => this.flush());
    return this.batch;
  }
}

const commits = new WeakMap<Sqlite, GroupCommit>();

/** The one GroupCommit of a database, shared by every adapter writing to it. */
export function groupCommit(db: Sqlite): GroupCommit {
  let commit = commits.get(db);
  if (!commit) commits.set(db, (commit = new GroupCommit(db)));
  return commit;
}
