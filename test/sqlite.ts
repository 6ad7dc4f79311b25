import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { closeDatabase } from '../lib/group-commit.ts';
import { openSqlite, type Sqlite } from '../lib/sqlite.ts';

/** A private in-memory database for one contract factory call; `close` commits what is staged, then closes. */
export function memoryDatabase(): { db: Sqlite; close: () => Promise<void> } {
  const db = openSqlite(':memory:');
  return { db, close: () => Promise.resolve(closeDatabase(db)) };
}

/**
 * Paths of database files in a temp directory of the calling test file, removed when its tests are done: for tests
 * that close a file and open it again (what a restart does). Call at the top of a file or describe.
 */
export function databaseFiles(prefix: string): () => string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  after(() => rmSync(dir, { recursive: true, force: true }));
  let n = 0;
  return () => join(dir, `im-${++n}.db`);
}
