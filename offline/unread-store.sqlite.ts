import type { Sqlite } from '../lib/sqlite.ts';
import {
  MAX_UNREAD_PER_CONVERSATION,
  type ConversationUnreadState,
  type TimelineReadRef,
  type UnreadRef,
  type UnreadStore,
} from './unread-store.ts';
import { groupCommit, type GroupCommit } from '../lib/group-commit.ts';

/**
 * Tables:
 * - offline_unread_conversations (user, conversation) → read_seq (the read marker), unread (rows of the conversation
 *   in offline_unread, kept in step so the cap costs no count)
 * - offline_unread (user, conversation, seq): the unread messages, at most the cap per conversation (the newest)
 * - offline_timeline_reads (user, conversation) → idx: large groups' timeline read markers (by stream_index)
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS offline_unread_conversations (
  user TEXT NOT NULL,
  conversation TEXT NOT NULL,
  read_seq INTEGER NOT NULL,
  unread INTEGER NOT NULL,
  PRIMARY KEY (user, conversation)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS offline_unread (
  user TEXT NOT NULL,
  conversation TEXT NOT NULL,
  seq INTEGER NOT NULL,
  PRIMARY KEY (user, conversation, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS offline_timeline_reads (
  user TEXT NOT NULL,
  conversation TEXT NOT NULL,
  idx INTEGER NOT NULL,
  PRIMARY KEY (user, conversation)
) WITHOUT ROWID;
`;

type Key = [user: string, conversation: string];

function prepare(db: Sqlite) {
  db.exec(SCHEMA);
  const conv = 'WHERE user = ? AND conversation = ?';
  return {
    marker: db.prepare<Key, number>(`SELECT read_seq FROM offline_unread_conversations ${conv}`).pluck(),
    addConversation: db.prepare<Key>(
      'INSERT INTO offline_unread_conversations (user, conversation, read_seq, unread) VALUES (?, ?, 0, 0) ON CONFLICT DO NOTHING',
    ),
    addUnread: db.prepare<[...Key, number]>(
      'INSERT INTO offline_unread (user, conversation, seq) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
    ),
    count: db
      .prepare<[number, ...Key], number>(
        `UPDATE offline_unread_conversations SET unread = unread + ? ${conv} RETURNING unread`,
      )
      .pluck(),
    dropOldest: db.prepare<[...Key, ...Key]>(
      `DELETE FROM offline_unread ${conv} AND seq = (SELECT min(seq) FROM offline_unread ${conv})`,
    ),
    dropOne: db.prepare<[...Key, number]>(`DELETE FROM offline_unread ${conv} AND seq = ?`),
    dropThrough: db.prepare<[...Key, number]>(`DELETE FROM offline_unread ${conv} AND seq <= ?`),
    markRead: db
      .prepare<[...Key, number], number>(
        `INSERT INTO offline_unread_conversations (user, conversation, read_seq, unread) VALUES (?, ?, ?, 0)
       ON CONFLICT DO UPDATE SET read_seq = max(read_seq, excluded.read_seq) RETURNING read_seq`,
      )
      .pluck(),
    unread: db.prepare<[number, string], { conversation: string; read_seq: number; unread: number }>(
      `SELECT c.conversation, c.read_seq,
         (SELECT count(*) FROM offline_unread u WHERE u.user = c.user AND u.conversation = c.conversation AND u.seq <= ?)
           AS unread
       FROM offline_unread_conversations c WHERE c.user = ? ORDER BY c.conversation`,
    ),
    markTimeline: db
      .prepare<[...Key, number], number>(
        `INSERT INTO offline_timeline_reads (user, conversation, idx) VALUES (?, ?, ?)
       ON CONFLICT DO UPDATE SET idx = max(idx, excluded.idx) RETURNING idx`,
      )
      .pluck(),
    timelineMark: db.prepare<Key, number>(`SELECT idx FROM offline_timeline_reads ${conv}`).pluck(),
  };
}

/** UnreadStore in the embedded database: the memory adapter's semantics, each call one transaction. */
export class SqliteUnreadStore implements UnreadStore {
  private readonly sql: ReturnType<typeof prepare>;
  private readonly cap: number;
  private readonly arrivedAll: (entries: readonly UnreadRef[]) => void;
  private readonly recalledAll: (entries: readonly UnreadRef[]) => void;
  private readonly markReadOne: (ref: UnreadRef) => number;

  private readonly commit: GroupCommit;

  constructor(db: Sqlite, options: { maxPerConversation?: number } = {}) {
    this.commit = groupCommit(db);
    this.sql = prepare(db);
    this.cap = options.maxPerConversation ?? MAX_UNREAD_PER_CONVERSATION;
    const { sql } = this;
    this.arrivedAll = db.transaction((entries: readonly UnreadRef[]) => {
      for (const { user, conversation, seq } of entries) {
        if (seq <= (sql.marker.get(user, conversation) ?? 0)) continue;
        sql.addConversation.run(user, conversation);
        if (sql.addUnread.run(user, conversation, seq).changes === 0) continue;
        if (sql.count.get(1, user, conversation)! <= this.cap) continue;
        sql.dropOldest.run(user, conversation, user, conversation);
        sql.count.get(-1, user, conversation);
      }
    });
    this.recalledAll = db.transaction((entries: readonly UnreadRef[]) => {
      for (const { user, conversation, seq } of entries) {
        if (sql.dropOne.run(user, conversation, seq).changes > 0) sql.count.get(-1, user, conversation);
      }
    });
    this.markReadOne = db.transaction(({ user, conversation, seq }: UnreadRef) => {
      const marker = sql.markRead.get(user, conversation, seq)!;
      const dropped = sql.dropThrough.run(user, conversation, marker).changes;
      return sql.count.get(-dropped, user, conversation)!;
    });
  }

  arrived(entries: readonly UnreadRef[]): Promise<void> {
    return this.commit.staged(() => void (entries.length > 0 && this.arrivedAll(entries)));
  }

  recalled(entries: readonly UnreadRef[]): Promise<void> {
    return this.commit.staged(() => void (entries.length > 0 && this.recalledAll(entries)));
  }

  markRead(ref: UnreadRef): Promise<number> {
    return this.commit.staged(() => this.markReadOne(ref));
  }

  unread(user: string, throughSeq = Number.MAX_SAFE_INTEGER): Promise<ConversationUnreadState[]> {
    return Promise.resolve(
      this.sql.unread
        .all(throughSeq, user)
        .map((row) => ({ conversation: row.conversation, unread: row.unread, readSeq: row.read_seq })),
    );
  }

  markTimelineRead({ user, conversation, index }: TimelineReadRef): Promise<number> {
    return this.commit.staged(() => this.sql.markTimeline.get(user, conversation, index)!);
  }

  timelineMarks(user: string, conversations: readonly string[]): Promise<number[]> {
    return Promise.resolve(conversations.map((c) => this.sql.timelineMark.get(user, c) ?? 0));
  }
}
