// Applies the CQL files of a directory (infra/cql/*.cql) in name order, each statement once.
// Progress is recorded per file in <keyspace>.schema_migrations, so a second run is a no-op and a run
// interrupted in the middle of a file resumes after the last statement that succeeded.
// Run it from one process at a time (e.g. a test suite's global setup or the app's start-up).
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from 'cassandra-driver';

export interface MigrateOptions {
  /** Keyspace that holds schema_migrations; the first migration must create it. Default "im". */
  keyspace?: string;
  log?: (line: string) => void;
}

export interface MigrateResult {
  applied: string[];
  skipped: string[];
}

export const MIGRATIONS_DIR = join(import.meta.dirname, 'cql');

/** Splits CQL text into statements on `;`, ignoring comments and semicolons inside strings. */
export function splitCql(text: string): string[] {
  const statements: string[] = [];
  let current = '';
  let i = 0;
  while (i < text.length) {
    const ch = text[i] as string;
    const two = text.slice(i, i + 2);
    if (two === '--' || two === '//') {
      const end = text.indexOf('\n', i);
      i = end === -1 ? text.length : end;
    } else if (two === '/*') {
      const end = text.indexOf('*/', i + 2);
      i = end === -1 ? text.length : end + 2;
      current += ' ';
    } else if (two === '$$') {
      const end = text.indexOf('$$', i + 2);
      const stop = end === -1 ? text.length : end + 2;
      current += text.slice(i, stop);
      i = stop;
    } else if (ch === "'" || ch === '"') {
      let j = i + 1;
      while (j < text.length) {
        if (text[j] === ch && text[j + 1] === ch)
          j += 2; // doubled quote = escaped quote
        else if (text[j] === ch) break;
        else j++;
      }
      current += text.slice(i, j + 1);
      i = j + 1;
    } else if (ch === ';') {
      if (current.trim()) statements.push(current.trim());
      current = '';
      i++;
    } else {
      current += ch;
      i++;
    }
  }
  if (current.trim()) statements.push(current.trim());
  return statements;
}

interface Applied {
  statements: number;
  checksum: string;
  complete: boolean;
}

export async function migrate(
  client: Client,
  dir: string = MIGRATIONS_DIR,
  opts: MigrateOptions = {},
): Promise<MigrateResult> {
  const keyspace = opts.keyspace ?? 'im';
  const log = opts.log ?? (() => undefined);
  const table = `${keyspace}.schema_migrations`;
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.cql'))
    .sort();
  const result: MigrateResult = { applied: [], skipped: [] };
  let tableReady = false;

  const ensureTable = async (): Promise<boolean> => {
    if (tableReady) return true;
    const ks = await client.execute(
      'SELECT keyspace_name FROM system_schema.keyspaces WHERE keyspace_name = ?',
      [keyspace],
      {
        prepare: true,
      },
    );
    if (ks.rowLength === 0) return false;
    await client.execute(
      `CREATE TABLE IF NOT EXISTS ${table} (file text PRIMARY KEY, checksum text, statements int, complete boolean, applied_at timestamp)`,
    );
    tableReady = true;
    return true;
  };
  const record = async (file: string, checksum: string, statements: number, complete: boolean) => {
    await client.execute(
      `INSERT INTO ${table} (file, checksum, statements, complete, applied_at) VALUES (?, ?, ?, ?, toTimestamp(now()))`,
      [file, checksum, statements, complete],
      { prepare: true },
    );
  };

  for (const file of files) {
    const text = readFileSync(join(dir, file), 'utf8');
    const checksum = createHash('sha256').update(text).digest('hex');
    const statements = splitCql(text);
    let done: Applied | undefined;
    if (await ensureTable()) {
      const row = (
        await client.execute(`SELECT checksum, statements, complete FROM ${table} WHERE file = ?`, [file], {
          prepare: true,
        })
      ).first();
      if (row)
        done = {
          checksum: row.get('checksum') as string,
          statements: row.get('statements') as number,
          complete: row.get('complete') as boolean,
        };
    }
    if (done?.complete) {
      if (done.checksum !== checksum) {
        throw new Error(`migration ${file} was changed after it was applied; add a new file instead of editing it`);
      }
      result.skipped.push(file);
      continue;
    }
    const from = done && done.checksum === checksum ? done.statements : 0;
    log(`cassandra-migrate: applying ${file} (${statements.length - from} statement(s))`);
    for (let n = from; n < statements.length; n++) {
      try {
        await client.execute(statements[n] as string);
      } catch (err) {
        throw new Error(`migration ${file}, statement ${n + 1} failed: ${(err as Error).message}\n${statements[n]}`, {
          cause: err,
        });
      }
      if (await ensureTable()) await record(file, checksum, n + 1, n + 1 === statements.length);
    }
    if (!(await ensureTable())) {
      throw new Error(`keyspace ${keyspace} does not exist after ${file}; the first migration must create it`);
    }
    if (statements.length === 0) await record(file, checksum, 0, true);
    result.applied.push(file);
  }
  return result;
}
