import type { Sqlite } from '../lib/sqlite.ts';
import { Message } from '../proto/gen/im/v1/message.pb.ts';
import {
  decodePage,
  tombstone,
  type EncodedInboxPage,
  type InboxPage,
  type InboxRef,
  type InboxStore,
} from './inbox-store.ts';
import { groupCommit, type GroupCommit } from '../lib/group-commit.ts';

/**
 * Tables:
 * - offline_inbox (user, seq) → message: the entry's Message protobuf, handed to readers unchanged
 * - offline_inbox_users (user) → entries (rows in offline_inbox, kept in step so retention costs no count),
 *   floor_seq (the highest seq retention dropped; writes at or below it are ignored, as in memory)
 * - offline_inbox_cursors (user, device) → seq, the device's ack cursor
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS offline_inbox (
  user TEXT NOT NULL,
  seq INTEGER NOT NULL,
  message BLOB NOT NULL,
  PRIMARY KEY (user, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS offline_inbox_users (
  user TEXT PRIMARY KEY,
  entries INTEGER NOT NULL,
  floor_seq INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS offline_inbox_cursors (
  user TEXT NOT NULL,
  device TEXT NOT NULL,
  seq INTEGER NOT NULL,
  PRIMARY KEY (user, device)
) WITHOUT ROWID;
`;

/** Above every seq (seqs are safe integers), for a read with no upper bound. */
const NO_BOUND = 2 ** 53;

function prepare(db: Sqlite) {
  db.exec(SCHEMA);
  return {
    floor: db.prepare<[string], number>('SELECT floor_seq FROM offline_inbox_users WHERE user = ?').pluck(),
    addUser: db.prepare<[string]>(
      'INSERT INTO offline_inbox_users (user, entries, floor_seq) VALUES (?, 0, 0) ON CONFLICT DO NOTHING',
    ),
    insert: db.prepare<[string, number, Uint8Array]>(
      'INSERT INTO offline_inbox (user, seq, message) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
    ),
    replace: db.prepare<[Uint8Array, string, number]>(
      'UPDATE offline_inbox SET message = ? WHERE user = ? AND seq = ?',
    ),
    count: db
      .prepare<[string], number>(
        'UPDATE offline_inbox_users SET entries = entries + 1 WHERE user = ? RETURNING entries',
      )
      .pluck(),
    /** The seq of the `excess`-th oldest entry: the new floor once it and all below are dropped. */
    nthOldest: db
      .prepare<[string, number], number>('SELECT seq FROM offline_inbox WHERE user = ? ORDER BY seq LIMIT 1 OFFSET ?')
      .pluck(),
    removeOne: db.prepare<[string, number]>('DELETE FROM offline_inbox WHERE user = ? AND seq = ?'),
    uncount: db.prepare<[string]>('UPDATE offline_inbox_users SET entries = entries - 1 WHERE user = ?'),
    dropThrough: db.prepare<[string, number]>('DELETE FROM offline_inbox WHERE user = ? AND seq <= ?'),
    setFloor: db.prepare<[number, number, string]>(
      'UPDATE offline_inbox_users SET entries = entries - ?, floor_seq = ? WHERE user = ?',
    ),
    page: db.prepare<[string, number, number, number], { seq: number; message: Buffer }>(
      'SELECT seq, message FROM offline_inbox WHERE user = ? AND seq > ? AND seq < ? ORDER BY seq LIMIT ?',
    ),
    message: db
      .prepare<[string, number], Buffer>('SELECT message FROM offline_inbox WHERE user = ? AND seq = ?')
      .pluck(),
    ack: db.prepare<[string, string, number]>(
      `INSERT INTO offline_inbox_cursors (user, device, seq) VALUES (?, ?, ?)
       ON CONFLICT DO UPDATE SET seq = max(seq, excluded.seq)`,
    ),
    cursor: db
      .prepare<[string, string], number>('SELECT seq FROM offline_inbox_cursors WHERE user = ? AND device = ?')
      .pluck(),
    // Keyset paging in primary-key order: each page starts after the last (user, seq) of the one before.
    scanPage: db.prepare<[string, number, number], { user: string; seq: number; message: Buffer }>(
      'SELECT user, seq, message FROM offline_inbox WHERE (user, seq) > (?, ?) ORDER BY user, seq LIMIT ?',
    ),
  };
}

type Entry = { user: string; message: Message };

/** The embedded mode's inbox: the memory adapter's semantics (retention by count per user) in one SQLite file. */
export class SqliteInboxStore implements InboxStore {
  private readonly sql: ReturnType<typeof prepare>;
  private readonly retainedPerUser: number;
  private readonly writeAll: (entries: readonly Entry[]) => void;
  private readonly redactAll: (entries: readonly InboxRef[]) => void;
  private readonly removeAll: (entries: readonly InboxRef[]) => void;

  private readonly commit: GroupCommit;

  constructor(db: Sqlite, options: { retainedPerUser?: number } = {}) {
    this.commit = groupCommit(db);
    this.sql = prepare(db);
    this.retainedPerUser = options.retainedPerUser ?? 20_000;
    this.writeAll = db.transaction((entries: readonly Entry[]) => {
      for (const entry of entries) this.writeOne(entry);
    });
    this.redactAll = db.transaction((entries: readonly InboxRef[]) => {
      for (const { user, seq } of entries) {
        const stored = this.sql.message.get(user, seq);
        if (stored) this.sql.replace.run(Message.encode(tombstone(Message.decode(stored))).finish(), user, seq);
      }
    });
    this.removeAll = db.transaction((entries: readonly InboxRef[]) => {
      for (const { user, seq } of entries)
        if (this.sql.removeOne.run(user, seq).changes > 0) this.sql.uncount.run(user);
    });
  }

  private writeOne({ user, message }: Entry): void {
    const { sql } = this;
    const { seq } = message;
    if (seq <= (sql.floor.get(user) ?? 0)) return;
    const bytes = Message.encode(message).finish();
    sql.addUser.run(user);
    if (sql.insert.run(user, seq, bytes).changes === 0) {
      sql.replace.run(bytes, user, seq);
      return;
    }
    const excess = sql.count.get(user)! - this.retainedPerUser;
    if (excess <= 0) return;
    const floor = sql.nthOldest.get(user, excess - 1)!;
    sql.dropThrough.run(user, floor);
    sql.setFloor.run(excess, floor, user);
  }

  write(entries: readonly Entry[]): Promise<void> {
    return this.commit.staged(() => void (entries.length > 0 && this.writeAll(entries)));
  }

  async read(user: string, afterSeq: number, limit: number, beforeSeq?: number): Promise<InboxPage> {
    return decodePage(await this.readEncoded(user, afterSeq, limit, beforeSeq));
  }

  /** The head hint is not needed: the primary key finds the first entry after afterSeq directly. */
  readEncoded(user: string, afterSeq: number, limit: number, beforeSeq = NO_BOUND): Promise<EncodedInboxPage> {
    const take = Math.max(0, limit);
    const rows = this.sql.page.all(user, afterSeq, Math.min(beforeSeq, NO_BOUND), take + 1);
    const page = rows.slice(0, take);
    return Promise.resolve({
      seqs: page.map((row) => row.seq),
      encoded: page.map((row) => new Uint8Array(row.message.buffer, row.message.byteOffset, row.message.byteLength)),
      hasMore: rows.length > take,
      floorSeq: this.sql.floor.get(user) ?? 0,
    });
  }

  redact(entries: readonly InboxRef[]): Promise<void> {
    return this.commit.staged(() => void (entries.length > 0 && this.redactAll(entries)));
  }

  remove(entries: readonly InboxRef[]): Promise<void> {
    return this.commit.staged(() => void (entries.length > 0 && this.removeAll(entries)));
  }

  ack(user: string, device: string, seq: number): Promise<void> {
    return this.commit.staged(() => void this.sql.ack.run(user, device, seq));
  }

  cursor(user: string, device: string): Promise<number> {
    return Promise.resolve(this.sql.cursor.get(user, device) ?? 0);
  }

  /** A page per event-loop turn, so a scan of the whole file never holds the process for long. */
  async *scan(pageSize = 1_000): AsyncIterable<Entry> {
    let after = { user: '', seq: -1 };
    for (;;) {
      const rows = this.sql.scanPage.all(after.user, after.seq, pageSize);
      for (const row of rows) yield { user: row.user, message: Message.decode(row.message) };
      if (rows.length < pageSize) return;
      after = rows.at(-1)!;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }
}
