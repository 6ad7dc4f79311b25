import { groupCommit, type GroupCommit } from '../../lib/group-commit.ts';
import { asPromise, type Sqlite } from '../../lib/sqlite.ts';
import { NoticeContent } from '../../proto/gen/im/v1/notices.pb.ts';
import {
  copyNotice,
  type NoticeCounts,
  type NoticePriority,
  type NoticeRecipient,
  type NoticeRecord,
  type NoticeState,
  type NoticeStore,
  type NoticeTargetRecord,
  type Page,
} from './notice-store.ts';

/**
 * Tables:
 * - logic_notices (id) → the record: target as JSON (a list of up to 10,000 users), content as NoticeContent
 *   protobuf, the rest a column each. (app_id, message_id) is unique: that is what makes create idempotent.
 *   Partial indexes hold only the live rows each scan looks at: scheduled by deliver_at_ms (due), firing by
 *   claim_until_ms (lapsed claims), scheduled and sent by expire_at_ms (expiring); finished notices leave them.
 * - logic_notice_chunks (notice_id, idx) → recipients, a JSON array of {user, seq}
 * - logic_notice_counts (notice_id) → the four counters and first_delivery_ms (null until noted)
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS logic_notices (
  id TEXT PRIMARY KEY,
  app_id TEXT NOT NULL,
  message_id TEXT NOT NULL,
  target TEXT NOT NULL,
  content BLOB NOT NULL,
  priority TEXT NOT NULL,
  created_at_ms INTEGER NOT NULL,
  deliver_at_ms INTEGER NOT NULL,
  expire_at_ms INTEGER NOT NULL,
  state TEXT NOT NULL,
  server_msg_id TEXT NOT NULL,
  fired_at_ms INTEGER NOT NULL,
  cancelled_at_ms INTEGER NOT NULL,
  claim_owner TEXT NOT NULL,
  claim_until_ms INTEGER NOT NULL,
  timeline_seq INTEGER NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS logic_notices_by_message ON logic_notices (app_id, message_id);
CREATE INDEX IF NOT EXISTS logic_notices_by_app ON logic_notices (app_id, id);
CREATE INDEX IF NOT EXISTS logic_notices_by_app_state ON logic_notices (app_id, state, id);
CREATE INDEX IF NOT EXISTS logic_notices_scheduled ON logic_notices (deliver_at_ms, id) WHERE state = 'scheduled';
CREATE INDEX IF NOT EXISTS logic_notices_firing ON logic_notices (claim_until_ms) WHERE state = 'firing';
CREATE INDEX IF NOT EXISTS logic_notices_expiring ON logic_notices (expire_at_ms, id)
  WHERE state IN ('scheduled', 'sent');
CREATE TABLE IF NOT EXISTS logic_notice_chunks (
  notice_id TEXT NOT NULL,
  idx INTEGER NOT NULL,
  recipients TEXT NOT NULL,
  PRIMARY KEY (notice_id, idx)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS logic_notice_counts (
  notice_id TEXT PRIMARY KEY,
  targeted INTEGER NOT NULL,
  stored INTEGER NOT NULL,
  delivered INTEGER NOT NULL,
  read INTEGER NOT NULL,
  first_delivery_ms INTEGER
) WITHOUT ROWID;
`;

interface NoticeRow {
  id: string;
  app_id: string;
  message_id: string;
  target: string;
  content: Buffer;
  priority: string;
  created_at_ms: number;
  deliver_at_ms: number;
  expire_at_ms: number;
  state: string;
  server_msg_id: string;
  fired_at_ms: number;
  cancelled_at_ms: number;
  claim_owner: string;
  claim_until_ms: number;
  timeline_seq: number;
}

type InsertParams = [
  string,
  string,
  string,
  string,
  Uint8Array,
  string,
  number,
  number,
  number,
  string,
  string,
  number,
  number,
  string,
  number,
  number,
];

type CountParams = [string, number, number, number, number];

function prepare(db: Sqlite) {
  db.exec(SCHEMA);
  return {
    // A clash on either the id or (app_id, message_id) inserts nothing; the caller tells which.
    insert: db.prepare<InsertParams>(
      `INSERT INTO logic_notices (id, app_id, message_id, target, content, priority, created_at_ms, deliver_at_ms,
       expire_at_ms, state, server_msg_id, fired_at_ms, cancelled_at_ms, claim_owner, claim_until_ms, timeline_seq)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
    ),
    get: db.prepare<[string], NoticeRow>('SELECT * FROM logic_notices WHERE id = ?'),
    byMessage: db.prepare<[string, string], NoticeRow>(
      'SELECT * FROM logic_notices WHERE app_id = ? AND message_id = ?',
    ),
    list: db.prepare<[string, string, number], NoticeRow>(
      'SELECT * FROM logic_notices WHERE app_id = ? AND id > ? ORDER BY id LIMIT ?',
    ),
    listState: db.prepare<[string, string, string, number], NoticeRow>(
      'SELECT * FROM logic_notices WHERE app_id = ? AND state = ? AND id > ? ORDER BY id LIMIT ?',
    ),
    // The state literals match the partial indexes' WHERE, which is what lets the planner use them.
    dueScheduled: db.prepare<[number, number], NoticeRow>(
      `SELECT * FROM logic_notices WHERE state = 'scheduled' AND deliver_at_ms <= ?
       ORDER BY deliver_at_ms, id LIMIT ?`,
    ),
    dueLapsed: db.prepare<[number, number], NoticeRow>(
      `SELECT * FROM logic_notices WHERE state = 'firing' AND claim_until_ms <= ?
       ORDER BY deliver_at_ms, id LIMIT ?`,
    ),
    expiring: db.prepare<[number, number], NoticeRow>(
      `SELECT * FROM logic_notices WHERE state IN ('scheduled', 'sent') AND expire_at_ms <= ?
       ORDER BY expire_at_ms, id LIMIT ?`,
    ),
    claim: db.prepare<[string, number, string, number, string], NoticeRow>(
      `UPDATE logic_notices SET state = 'firing', claim_owner = ?, claim_until_ms = ?
       WHERE id = ? AND (state = 'scheduled' OR (state = 'firing' AND (claim_until_ms <= ? OR claim_owner = ?)))
       RETURNING *`,
    ),
    markSent: db.prepare<[number, number, string]>(
      `UPDATE logic_notices SET state = 'sent', fired_at_ms = ?, timeline_seq = ? WHERE id = ? AND state = 'firing'`,
    ),
    cancel: db.prepare<[number, string]>(
      `UPDATE logic_notices SET state = 'cancelled', cancelled_at_ms = ?
       WHERE id = ? AND state IN ('scheduled', 'firing', 'sent')`,
    ),
    markExpired: db.prepare<[string]>(
      `UPDATE logic_notices SET state = 'expired' WHERE id = ? AND state IN ('scheduled', 'sent')`,
    ),
    putChunk: db.prepare<[string, number, string]>(
      'INSERT INTO logic_notice_chunks (notice_id, idx, recipients) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
    ),
    replaceChunk: db.prepare<[string, string, number]>(
      'UPDATE logic_notice_chunks SET recipients = ? WHERE notice_id = ? AND idx = ?',
    ),
    chunk: db
      .prepare<[string, number], string>('SELECT recipients FROM logic_notice_chunks WHERE notice_id = ? AND idx = ?')
      .pluck(),
    chunks: db
      .prepare<[string], string>('SELECT recipients FROM logic_notice_chunks WHERE notice_id = ? ORDER BY idx')
      .pluck(),
    addCounts: db.prepare<CountParams>(
      `INSERT INTO logic_notice_counts (notice_id, targeted, stored, delivered, read) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT DO UPDATE SET targeted = targeted + excluded.targeted, stored = stored + excluded.stored,
       delivered = delivered + excluded.delivered, read = read + excluded.read`,
    ),
    counts: db.prepare<[string], NoticeCounts>(
      'SELECT targeted, stored, delivered, read FROM logic_notice_counts WHERE notice_id = ?',
    ),
    noteFirstDelivery: db.prepare<[string, number]>(
      `INSERT INTO logic_notice_counts (notice_id, targeted, stored, delivered, read, first_delivery_ms)
       VALUES (?, 0, 0, 0, 0, ?)
       ON CONFLICT DO UPDATE SET first_delivery_ms = coalesce(first_delivery_ms, excluded.first_delivery_ms)`,
    ),
    firstDelivery: db
      .prepare<[string], number | null>('SELECT first_delivery_ms FROM logic_notice_counts WHERE notice_id = ?')
      .pluck(),
  };
}

/**
 * Notices in the embedded mode's SQLite database. Writes go through the database's group commit, so a write's
 * promise resolves once it is committed. One process owns the file, and each write runs whole within one call, so
 * every check-and-change (create, claim, markSent, cancel) is atomic.
 */
export class SqliteNoticeStore implements NoticeStore {
  private readonly sql: ReturnType<typeof prepare>;
  private readonly commit: GroupCommit;

  constructor(db: Sqlite) {
    this.commit = groupCommit(db);
    this.sql = prepare(db);
  }

  create(record: NoticeRecord): Promise<{ record: NoticeRecord; created: boolean }> {
    return this.commit.write(() => {
      if (this.sql.insert.run(...toParams(record)).changes > 0) return { record: copyNotice(record), created: true };
      const existing = this.sql.byMessage.get(record.appId, record.messageId);
      if (!existing) throw new Error(`notice ${record.id} exists`);
      return { record: toRecord(existing), created: false };
    });
  }

  get(id: string): Promise<NoticeRecord | undefined> {
    return asPromise(() => {
      const row = this.sql.get.get(id);
      return row && toRecord(row);
    });
  }

  list(
    appId: string,
    { after, limit, state }: { after: string; limit: number; state?: NoticeState },
  ): Promise<Page<NoticeRecord>> {
    return asPromise(() => {
      // One row more than asked tells whether another page follows.
      const rows =
        state === undefined
          ? this.sql.list.all(appId, after, limit + 1)
          : this.sql.listState.all(appId, state, after, limit + 1);
      const items = rows.slice(0, limit).map(toRecord);
      return rows.length > limit ? { items, next: items.at(-1)!.id } : { items };
    });
  }

  due(nowMs: number, limit: number): Promise<NoticeRecord[]> {
    return asPromise(() => {
      const rows = [...this.sql.dueScheduled.all(nowMs, limit), ...this.sql.dueLapsed.all(nowMs, limit)];
      rows.sort((a, b) => a.deliver_at_ms - b.deliver_at_ms || compare(a.id, b.id));
      return rows.slice(0, limit).map(toRecord);
    });
  }

  claim(id: string, owner: string, nowMs: number, untilMs: number): Promise<NoticeRecord | undefined> {
    return this.commit.write(() => {
      const row = this.sql.claim.get(owner, untilMs, id, nowMs, owner);
      return row && toRecord(row);
    });
  }

  markSent(id: string, firedAtMs: number, timelineSeq: number): Promise<boolean> {
    return this.commit.write(() => this.sql.markSent.run(firedAtMs, timelineSeq, id).changes > 0);
  }

  cancel(id: string, atMs: number): Promise<NoticeRecord | undefined> {
    return this.commit.write(() => {
      const before = this.sql.get.get(id);
      if (before) this.sql.cancel.run(atMs, id);
      return before && toRecord(before);
    });
  }

  expiring(nowMs: number, limit: number): Promise<NoticeRecord[]> {
    return asPromise(() => this.sql.expiring.all(nowMs, limit).map(toRecord));
  }

  markExpired(id: string): Promise<boolean> {
    return this.commit.write(() => this.sql.markExpired.run(id).changes > 0);
  }

  putChunk(id: string, index: number, recipients: readonly NoticeRecipient[]): Promise<NoticeRecipient[]> {
    return this.commit.write(() => {
      this.sql.putChunk.run(id, index, JSON.stringify(recipients.map(({ user, seq }) => ({ user, seq }))));
      return JSON.parse(this.sql.chunk.get(id, index)!) as NoticeRecipient[];
    });
  }

  replaceChunk(id: string, index: number, recipients: readonly NoticeRecipient[]): Promise<void> {
    const json = JSON.stringify(recipients.map(({ user, seq }) => ({ user, seq })));
    return this.commit.write(() => void this.sql.replaceChunk.run(json, id, index));
  }

  chunks(id: string): Promise<NoticeRecipient[][]> {
    return asPromise(() => this.sql.chunks.all(id).map((json) => JSON.parse(json) as NoticeRecipient[]));
  }

  addCounts(id: string, delta: Partial<NoticeCounts>): Promise<void> {
    return this.commit.write(() => {
      const { targeted = 0, stored = 0, delivered = 0, read = 0 } = delta;
      this.sql.addCounts.run(id, targeted, stored, delivered, read);
    });
  }

  counts(id: string): Promise<NoticeCounts> {
    return asPromise(() => ({ ...(this.sql.counts.get(id) ?? { targeted: 0, stored: 0, delivered: 0, read: 0 }) }));
  }

  noteFirstDelivery(id: string, ms: number): Promise<void> {
    return this.commit.write(() => {
      this.sql.noteFirstDelivery.run(id, ms);
    });
  }

  firstDelivery(id: string): Promise<number> {
    return asPromise(() => this.sql.firstDelivery.get(id) ?? 0);
  }
}

function toParams(r: NoticeRecord): InsertParams {
  return [
    r.id,
    r.appId,
    r.messageId,
    JSON.stringify(r.target),
    NoticeContent.encode(r.content).finish(),
    r.priority,
    r.createdAtMs,
    r.deliverAtMs,
    r.expireAtMs,
    r.state,
    r.serverMsgId,
    r.firedAtMs,
    r.cancelledAtMs,
    r.claimOwner,
    r.claimUntilMs,
    r.timelineSeq,
  ];
}

function toRecord(row: NoticeRow): NoticeRecord {
  return {
    id: row.id,
    appId: row.app_id,
    messageId: row.message_id,
    target: JSON.parse(row.target) as NoticeTargetRecord,
    content: NoticeContent.decode(row.content),
    priority: row.priority as NoticePriority,
    createdAtMs: row.created_at_ms,
    deliverAtMs: row.deliver_at_ms,
    expireAtMs: row.expire_at_ms,
    state: row.state as NoticeState,
    serverMsgId: row.server_msg_id,
    firedAtMs: row.fired_at_ms,
    cancelledAtMs: row.cancelled_at_ms,
    claimOwner: row.claim_owner,
    claimUntilMs: row.claim_until_ms,
    timelineSeq: row.timeline_seq,
  };
}

/** Ids are ASCII, so JS order is byte order: the order SQLite's BINARY collation sorts by. */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
