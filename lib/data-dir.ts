import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { closeDatabase } from './group-commit.ts';
import { openSqlite, type Durability, type Sqlite } from './sqlite.ts';

/**
 * The layout of what the embedded mode stores. Bumped whenever a table changes in a way an older or newer version
 * would misread; a data directory of another format is refused with both numbers, never read.
 */
export const DATA_FORMAT = 1;

/** `IM_DATA_DIR=:memory:` keeps nothing: every store in memory, as the tests run. */
export const IN_MEMORY = ':memory:';

export interface DataDir {
  /** Absolute path. */
  path: string;
  db: Sqlite;
  close(): void;
}

/**
 * Opens the embedded mode's data directory: one SQLite file, `im.db`, held exclusively by this process while it
 * runs (a second `npm start` on the same directory is refused with a clear message), of this version's format.
 */
export function openDataDir(dir: string, durability: Durability): DataDir {
  const path = resolve(dir);
  mkdirSync(path, { recursive: true, mode: 0o700 });
  let db: Sqlite | undefined;
  try {
    db = openSqlite(join(path, 'im.db'), { durability, exclusive: true });
    checkFormat(db, path);
  } catch (err) {
    db?.close();
    if ((err as { code?: string }).code === 'SQLITE_BUSY') {
      throw new Error(
        `data directory ${path} is in use by another process (another npm start?): stop it, or give this one its own IM_DATA_DIR`,
        { cause: err },
      );
    }
    throw err;
  }
  const opened = db;
  return { path, db: opened, close: () => closeDatabase(opened) };
}

/**
 * Records the format in a new directory, refuses another one, and writes at once: in exclusive locking mode the
 * first write takes the lock that keeps other processes out until this one closes the database (or dies).
 */
function checkFormat(db: Sqlite, path: string): void {
  db.exec('CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
  const row = db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?').get('format');
  if (row && Number(row.value) !== DATA_FORMAT) {
    throw new Error(
      `data directory ${path} holds data format ${row.value}, and this version reads format ${DATA_FORMAT}: ` +
        'run the version that wrote it, or move the directory aside to start empty',
    );
  }
  const put = db.prepare(
    'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
  );
  db.transaction(() => {
    put.run('format', String(DATA_FORMAT));
    put.run('opened_at_ms', String(Date.now()));
  })();
}
