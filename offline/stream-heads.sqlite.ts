import type { Sqlite } from '../lib/sqlite.ts';
import type { StreamHead, StreamHeads } from './stream-heads.ts';
import { groupCommit, type GroupCommit } from '../lib/group-commit.ts';

/** offline_stream_heads (stream) → seq, idx: the entry with the highest seq written to each shared stream. */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS offline_stream_heads (
  stream TEXT PRIMARY KEY,
  seq INTEGER NOT NULL,
  idx INTEGER NOT NULL
) WITHOUT ROWID;
`;

function prepare(db: Sqlite) {
  db.exec(SCHEMA);
  return {
    advance: db.prepare<[string, number, number]>(
      `INSERT INTO offline_stream_heads (stream, seq, idx) VALUES (?, ?, ?)
       ON CONFLICT (stream) DO UPDATE SET seq = excluded.seq, idx = excluded.idx WHERE excluded.seq > seq`,
    ),
    head: db.prepare<[string], { seq: number; idx: number }>(
      'SELECT seq, idx FROM offline_stream_heads WHERE stream = ?',
    ),
  };
}

export class SqliteStreamHeads implements StreamHeads {
  private readonly sql: ReturnType<typeof prepare>;
  private readonly advanceAll: (entries: readonly StreamHead[]) => void;

  private readonly commit: GroupCommit;

  constructor(db: Sqlite) {
    this.commit = groupCommit(db);
    this.sql = prepare(db);
    this.advanceAll = db.transaction((entries: readonly StreamHead[]) => {
      for (const { stream, seq, index } of entries) this.sql.advance.run(stream, seq, index);
    });
  }

  advance(entries: readonly StreamHead[]): Promise<void> {
    return this.commit.staged(() => void (entries.length > 0 && this.advanceAll(entries)));
  }

  heads(streams: readonly string[]): Promise<{ seq: number; index: number }[]> {
    return Promise.resolve(
      streams.map((stream) => {
        const row = this.sql.head.get(stream);
        return { seq: row?.seq ?? 0, index: row?.idx ?? 0 };
      }),
    );
  }
}
