import Database from 'better-sqlite3';

/** An open SQLite database (better-sqlite3): the embedded mode's store, one file in the data directory. */
export type Sqlite = Database.Database;

/**
 * How much a commit waits for the disk. `normal` (the default): a commit is in the write-ahead log, which survives
 * the process being killed (kill -9, a crash) but not the machine losing power before the next checkpoint. `full`:
 * every commit is fsynced, and survives power loss too, at the cost measured in decision 0021.
 */
export type Durability = 'normal' | 'full';

/**
 * Opens (creating) a database file in WAL mode. `exclusive` holds the file's lock for as long as it is open, so a
 * second process cannot use it at the same time (the kernel lets go of the lock when a process dies, kill -9
 * included). ':memory:' opens a private in-memory database (tests).
 */
export function openSqlite(path: string, { durability = 'normal', exclusive = false } = {}): Sqlite {
  const db = new Database(path, { timeout: exclusive ? 0 : 5_000 });
  // Before WAL is entered: in exclusive mode the lock is then held from the first access until close.
  if (exclusive) db.pragma('locking_mode = EXCLUSIVE');
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${durability === 'full' ? 'FULL' : 'NORMAL'}`);
  // 64 MiB of page cache (the default is 2 MiB): inbox and index pages a send touches stay in memory.
  db.pragma('cache_size = -65536');
  return db;
}

/**
 * Runs a synchronous better-sqlite3 call as a port's async call: its result resolved, a throw (a constraint, a full
 * disk) a rejection, never a throw out of a method that promises.
 */
export function asPromise<T>(body: () => T): Promise<T> {
  try {
    return Promise.resolve(body());
  } catch (err) {
    return Promise.reject(err instanceof Error ? err : new Error(String(err)));
  }
}
