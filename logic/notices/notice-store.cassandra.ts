// NoticeStore on Cassandra: tables in infra/cql/0008_notices.cql.
//
// A notice's row is inserted IF NOT EXISTS and then changes only by lightweight transactions, each conditioned on
// the row as it was read: state, claim_owner and claim_until_ms, which together tell every version of the row
// apart. So of two racing claims one applies and the other finds the row changed, and a cancel knows exactly which
// record it replaced. create inserts the row first and the (app, message) key second, IF NOT EXISTS: the loser
// drops its own row and returns the winner's, which is already in place. The index rows (notices_by_app,
// notices_pending) follow; a create repeated after a crash writes them again.
//
// due and expiring read the one notices_pending partition, then the rows of the notices whose time came, and check
// each: the pending rows are only hints, kept in step after each change and tidied by the scans.
import { randomInt } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import cassandra from 'cassandra-driver';
import {
  DEFAULT_CONCURRENCY,
  forEachLimit,
  isWriteTimeout,
  executeAgainOnTimeout,
  long,
  toNumber,
  writeTogether,
  type Client,
  type Write,
} from '../../lib/cassandra.ts';
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

const COLUMNS =
  'id, app_id, message_id, target, content, priority, created_at_ms, deliver_at_ms, expire_at_ms, state, ' +
  'server_msg_id, fired_at_ms, cancelled_at_ms, claim_owner, claim_until_ms, timeline_seq';

/** What a conditional change compares: the fields that tell every version of a notice's row apart. */
const VERSION = 'state = ? AND claim_owner = ? AND claim_until_ms = ?';

const CQL = {
  insert: `INSERT INTO notices (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) IF NOT EXISTS`,
  drop: 'DELETE FROM notices WHERE id = ? IF EXISTS',
  reserve: 'INSERT INTO notices_by_app_message (app_id, message_id, id) VALUES (?, ?, ?) IF NOT EXISTS',
  get: `SELECT ${COLUMNS} FROM notices WHERE id = ?`,
  addToApp: 'INSERT INTO notices_by_app (app_id, id) VALUES (?, ?)',
  list: 'SELECT id FROM notices_by_app WHERE app_id = ? AND id > ? LIMIT ?',
  pend: 'INSERT INTO notices_pending (shard, id, deliver_at_ms, expire_at_ms) VALUES (?, ?, ?, ?)',
  pending: 'SELECT id, deliver_at_ms, expire_at_ms, sent, claimed_early FROM notices_pending WHERE shard = ?',
  hintSent: 'UPDATE notices_pending SET sent = true WHERE shard = ? AND id = ?',
  hintEarly: 'UPDATE notices_pending SET claimed_early = true WHERE shard = ? AND id = ?',
  unpend: 'DELETE FROM notices_pending WHERE shard = ? AND id = ?',
  claim: `UPDATE notices SET state = 'firing', claim_owner = ?, claim_until_ms = ? WHERE id = ? IF ${VERSION}`,
  markSent: "UPDATE notices SET state = 'sent', fired_at_ms = ?, timeline_seq = ? WHERE id = ? IF state = 'firing'",
  cancel: `UPDATE notices SET state = 'cancelled', cancelled_at_ms = ? WHERE id = ? IF ${VERSION}`,
  markExpired: "UPDATE notices SET state = 'expired' WHERE id = ? IF state IN ('scheduled', 'sent')",
  putChunk: 'INSERT INTO notice_chunks (id, idx, recipients) VALUES (?, ?, ?) IF NOT EXISTS',
  chunks: 'SELECT recipients FROM notice_chunks WHERE id = ?',
  // A lightweight transaction, as putChunk's insert is: a row written by Paxos is only changed by Paxos.
  replaceChunk: 'UPDATE notice_chunks SET recipients = ? WHERE id = ? AND idx = ? IF EXISTS',
  addCounts:
    'UPDATE notice_counts SET targeted = targeted + ?, stored = stored + ?, delivered = delivered + ?, ' +
    'read = read + ? WHERE id = ?',
  counts: 'SELECT targeted, stored, delivered, read FROM notice_counts WHERE id = ?',
  noteFirstDelivery: 'INSERT INTO notice_first_delivery (id, ms) VALUES (?, ?) IF NOT EXISTS',
  firstDelivery: 'SELECT ms FROM notice_first_delivery WHERE id = ?',
} as const;

/** Reads at SERIAL consistency see (and finish) any LWT still in progress. */
const serialRead = { consistency: cassandra.types.consistencies.localSerial } as const;

/** Attempts of one LWT that keeps timing out, or of a change that keeps finding its row changed. */
const MAX_ATTEMPTS = 6;

/** Ids a filtered listing reads per query, and notices a scan reads per round at least. */
const LIST_BATCH = 100;

/** A row of notices_pending. Its times are null where a hint (an UPDATE) made the row: after it was dropped. */
interface Pending {
  id: string;
  deliverAtMs: number | null;
  expireAtMs: number | null;
  sent: boolean;
  claimedEarly: boolean;
}

interface Row {
  get(column: string): unknown;
}

export interface CassandraNoticeStoreOptions {
  /** The notices_pending partition. 0 in production; tests use their own, so they never see others' notices. */
  shard?: number;
  /** In-flight requests per call. Default DEFAULT_CONCURRENCY. */
  concurrency?: number;
}

export class CassandraNoticeStore implements NoticeStore {
  private readonly shard: number;
  private readonly concurrency: number;

  constructor(
    private readonly client: Client,
    options: CassandraNoticeStoreOptions = {},
  ) {
    this.shard = options.shard ?? 0;
    this.concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  }

  async create(record: NoticeRecord): Promise<{ record: NoticeRecord; created: boolean }> {
    const inserted = await executeAgainOnTimeout(this.client, CQL.insert, toParams(record));
    // Not applied with this record's own serverMsgId: an earlier attempt of this insert that timed out.
    if (!inserted.wasApplied() && inserted.first()?.get('server_msg_id') !== record.serverMsgId)
      throw new Error(`notice ${record.id} exists`);
    const reserved = await executeAgainOnTimeout(this.client, CQL.reserve, [record.appId, record.messageId, record.id]);
    const id = reserved.wasApplied() ? record.id : (reserved.first()?.get('id') as string);
    if (id === record.id) {
      await this.index(record);
      return { record: copyNotice(record), created: true };
    }
    await this.client.execute(CQL.drop, [record.id]);
    const existing = await this.read(id);
    if (!existing) throw new Error(`notice ${id} of ${record.appId}/${record.messageId} has no row`);
    // Its creator may have stopped before indexing it.
    await this.index(existing);
    return { record: existing, created: false };
  }

  get(id: string): Promise<NoticeRecord | undefined> {
    return this.read(id);
  }

  async list(
    appId: string,
    { after, limit, state }: { after: string; limit: number; state?: NoticeState },
  ): Promise<Page<NoticeRecord>> {
    // One notice more than asked tells whether another page follows. A state filter reads rows until it has that
    // many, or the app's notices end.
    const batch = state === undefined ? limit + 1 : Math.max(limit + 1, LIST_BATCH);
    const found: NoticeRecord[] = [];
    let from = after;
    for (;;) {
      const ids = (await this.client.execute(CQL.list, [appId, from, batch])).rows.map((r) => r.get('id') as string);
      for (const r of await this.readAll(ids)) if (r && (state === undefined || r.state === state)) found.push(r);
      if (found.length > limit || ids.length < batch) break;
      from = ids.at(-1)!;
    }
    const items = found.slice(0, limit);
    return found.length > limit ? { items, next: items.at(-1)!.id } : { items };
  }

  async due(nowMs: number, limit: number): Promise<NoticeRecord[]> {
    const pending = (await this.pending()).filter(
      (p) => !p.sent && (p.deliverAtMs === null || p.deliverAtMs <= nowMs || p.claimedEarly),
    );
    const isDue = (r: NoticeRecord) =>
      (r.state === 'scheduled' && r.deliverAtMs <= nowMs) || (r.state === 'firing' && r.claimUntilMs <= nowMs);
    return this.scan(pending, limit, 'deliverAtMs', isDue);
  }

  async claim(id: string, owner: string, nowMs: number, untilMs: number): Promise<NoticeRecord | undefined> {
    let seen = await this.read(id);
    for (let attempt = 1; ; attempt++) {
      if (!seen) return undefined;
      const free =
        seen.state === 'scheduled' ||
        (seen.state === 'firing' && (seen.claimUntilMs <= nowMs || seen.claimOwner === owner));
      if (!free) return undefined;
      // Before the claim: due finds a lapsed claim on a notice not yet due only by this hint.
      if (seen.deliverAtMs > nowMs) await this.client.execute(CQL.hintEarly, [this.shard, id]);
      const claimed: NoticeRecord = { ...seen, state: 'firing', claimOwner: owner, claimUntilMs: untilMs };
      const params = [owner, long(untilMs), id, ...version(seen)];
      const landed = (r: NoticeRecord | undefined) =>
        r?.state === 'firing' && r.claimOwner === owner && r.claimUntilMs === untilMs;
      if (await this.change(CQL.claim, params, id, landed)) return claimed;
      if (attempt === MAX_ATTEMPTS) throw new Error(`notice ${id}: claim kept losing to other changes`);
      seen = await this.read(id, serialRead);
    }
  }

  async markSent(id: string, firedAtMs: number, timelineSeq: number): Promise<boolean> {
    const landed = (r: NoticeRecord | undefined) =>
      r?.state === 'sent' && r.firedAtMs === firedAtMs && r.timelineSeq === timelineSeq;
    if (!(await this.change(CQL.markSent, [long(firedAtMs), long(timelineSeq), id], id, landed))) return false;
    await this.client.execute(CQL.hintSent, [this.shard, id]);
    return true;
  }

  async cancel(id: string, atMs: number): Promise<NoticeRecord | undefined> {
    let seen = await this.read(id);
    for (let attempt = 1; ; attempt++) {
      if (!seen || seen.state === 'cancelled' || seen.state === 'expired') return seen;
      const landed = (r: NoticeRecord | undefined) => r?.state === 'cancelled' && r.cancelledAtMs === atMs;
      if (await this.change(CQL.cancel, [long(atMs), id, ...version(seen)], id, landed)) {
        await this.client.execute(CQL.unpend, [this.shard, id]);
        return seen;
      }
      if (attempt === MAX_ATTEMPTS) throw new Error(`notice ${id}: cancel kept losing to other changes`);
      seen = await this.read(id, serialRead);
    }
  }

  async expiring(nowMs: number, limit: number): Promise<NoticeRecord[]> {
    const pending = (await this.pending()).filter((p) => p.expireAtMs === null || p.expireAtMs <= nowMs);
    const isExpiring = (r: NoticeRecord) => (r.state === 'sent' || r.state === 'scheduled') && r.expireAtMs <= nowMs;
    return this.scan(pending, limit, 'expireAtMs', isExpiring);
  }

  async markExpired(id: string): Promise<boolean> {
    // Not told apart after a timeout: any expired notice counts as this call's.
    if (!(await this.change(CQL.markExpired, [id], id, (r) => r?.state === 'expired'))) return false;
    await this.client.execute(CQL.unpend, [this.shard, id]);
    return true;
  }

  async putChunk(id: string, index: number, recipients: readonly NoticeRecipient[]): Promise<NoticeRecipient[]> {
    const json = JSON.stringify(recipients.map(({ user, seq }) => ({ user, seq })));
    const result = await executeAgainOnTimeout(this.client, CQL.putChunk, [id, index, json]);
    const stored = result.wasApplied() ? json : (result.first()?.get('recipients') as string);
    return JSON.parse(stored) as NoticeRecipient[];
  }

  async replaceChunk(id: string, index: number, recipients: readonly NoticeRecipient[]): Promise<void> {
    const json = JSON.stringify(recipients.map(({ user, seq }) => ({ user, seq })));
    await executeAgainOnTimeout(this.client, CQL.replaceChunk, [json, id, index]);
  }

  async chunks(id: string): Promise<NoticeRecipient[][]> {
    const chunks: NoticeRecipient[][] = [];
    // Clustered by idx ascending; async iteration fetches every page.
    for await (const row of await this.client.execute(CQL.chunks, [id]))
      chunks.push(JSON.parse(row.get('recipients') as string) as NoticeRecipient[]);
    return chunks;
  }

  async addCounts(id: string, delta: Partial<NoticeCounts>): Promise<void> {
    const { targeted = 0, stored = 0, delivered = 0, read = 0 } = delta;
    if (targeted === 0 && stored === 0 && delivered === 0 && read === 0) return;
    // Counter updates are not idempotent: the driver does not retry them, and neither does this.
    await this.client.execute(CQL.addCounts, [long(targeted), long(stored), long(delivered), long(read), id]);
  }

  async counts(id: string): Promise<NoticeCounts> {
    const row = (await this.client.execute(CQL.counts, [id])).first();
    return {
      targeted: toNumber(row?.get('targeted')),
      stored: toNumber(row?.get('stored')),
      delivered: toNumber(row?.get('delivered')),
      read: toNumber(row?.get('read')),
    };
  }

  async noteFirstDelivery(id: string, ms: number): Promise<void> {
    // Every delivery of a notice notes it: a plain read spares all but the first a transaction.
    if ((await this.client.execute(CQL.firstDelivery, [id])).rowLength > 0) return;
    await executeAgainOnTimeout(this.client, CQL.noteFirstDelivery, [id, long(ms)]);
  }

  async firstDelivery(id: string): Promise<number> {
    return toNumber((await this.client.execute(CQL.firstDelivery, [id])).first()?.get('ms'));
  }

  private async read(id: string, options?: typeof serialRead): Promise<NoticeRecord | undefined> {
    const row = (await this.client.execute(CQL.get, [id], options)).first();
    return row ? toRecord(row) : undefined;
  }

  /** Writes a notice's index rows (idempotent): its app's listing, and the pending set while it may fire or expire. */
  private async index(record: NoticeRecord): Promise<void> {
    const writes: Write[] = [{ query: CQL.addToApp, params: [record.appId, record.id] }];
    if (record.state !== 'cancelled' && record.state !== 'expired') {
      const params = [this.shard, record.id, long(record.deliverAtMs), long(record.expireAtMs)];
      writes.push({ query: CQL.pend, params });
    }
    await writeTogether(this.client, writes);
  }

  /** The whole pending partition. */
  private async pending(): Promise<Pending[]> {
    const pending: Pending[] = [];
    const optional = (value: unknown) => (value === null || value === undefined ? null : toNumber(value));
    for await (const row of await this.client.execute(CQL.pending, [this.shard], { fetchSize: 5_000 }))
      pending.push({
        id: row.get('id') as string,
        deliverAtMs: optional(row.get('deliver_at_ms')),
        expireAtMs: optional(row.get('expire_at_ms')),
        sent: row.get('sent') === true,
        claimedEarly: row.get('claimed_early') === true,
      });
    return pending;
  }

  /**
   * The first `limit` notices by (`time`, id) among the candidates that pass `keep`. Candidates are read in the order
   * of the time in their pending row, which is the notice's own, so reading stops once `limit` of them passed; those
   * whose pending row lacks it are read first, and the result is sorted by the notices' own times.
   */
  private async scan(
    candidates: Pending[],
    limit: number,
    time: 'deliverAtMs' | 'expireAtMs',
    keep: (r: NoticeRecord) => boolean,
  ): Promise<NoticeRecord[]> {
    const at = (p: Pending) => p[time] ?? -Infinity;
    candidates.sort((a, b) => at(a) - at(b) || compare(a.id, b.id));
    const batchSize = Math.max(limit, LIST_BATCH);
    const found: NoticeRecord[] = [];
    let inOrder = 0;
    for (let i = 0; i < candidates.length && inOrder < limit; i += batchSize) {
      const batch = candidates.slice(i, i + batchSize);
      const records = await this.readAll(batch.map((p) => p.id));
      await forEachLimit(batch.keys(), this.concurrency, (j) => this.tidy(batch[j]!, records[j]));
      for (const [j, record] of records.entries()) {
        if (!record || !keep(record)) continue;
        found.push(record);
        if (batch[j]![time] !== null) inOrder++;
      }
    }
    found.sort((a, b) => a[time] - b[time] || compare(a.id, b.id));
    return found.slice(0, limit);
  }

  /** Brings a pending row in step with its notice: gone once the notice ended, marked once it was sent. */
  private async tidy(pending: Pending, record: NoticeRecord | undefined): Promise<void> {
    if (!record || record.state === 'cancelled' || record.state === 'expired')
      await this.client.execute(CQL.unpend, [this.shard, pending.id]);
    else if (record.state === 'sent' && !pending.sent)
      await this.client.execute(CQL.hintSent, [this.shard, pending.id]);
  }

  /** The notices of `ids`, in that order (undefined where there is none). */
  private async readAll(ids: readonly string[]): Promise<(NoticeRecord | undefined)[]> {
    const records = new Array<NoticeRecord | undefined>(ids.length);
    await forEachLimit(ids.keys(), this.concurrency, async (i) => {
      records[i] = await this.read(ids[i]!);
    });
    return records;
  }

  /**
   * Runs a conditional change of a notice's row; true when it applied. A timed-out transaction may or may not have
   * applied: a SERIAL read settles it (`landed` tells this change's outcome from the row), else it runs again.
   */
  private async change(
    query: string,
    params: unknown[],
    id: string,
    landed: (row: NoticeRecord | undefined) => boolean,
  ): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      try {
        return (await this.client.execute(query, params)).wasApplied();
      } catch (err) {
        if (!isWriteTimeout(err) || attempt >= MAX_ATTEMPTS) throw err;
        if (landed(await this.read(id, serialRead))) return true;
        await sleep(randomInt(20, 50 * attempt));
      }
    }
  }
}

function version(record: NoticeRecord): unknown[] {
  return [record.state, record.claimOwner, long(record.claimUntilMs)];
}

function toParams(r: NoticeRecord): unknown[] {
  return [
    r.id,
    r.appId,
    r.messageId,
    JSON.stringify(r.target),
    Buffer.from(NoticeContent.encode(r.content).finish()),
    r.priority,
    long(r.createdAtMs),
    long(r.deliverAtMs),
    long(r.expireAtMs),
    r.state,
    r.serverMsgId,
    long(r.firedAtMs),
    long(r.cancelledAtMs),
    r.claimOwner,
    long(r.claimUntilMs),
    long(r.timelineSeq),
  ];
}

function toRecord(row: Row): NoticeRecord {
  return {
    id: row.get('id') as string,
    appId: row.get('app_id') as string,
    messageId: row.get('message_id') as string,
    target: JSON.parse(row.get('target') as string) as NoticeTargetRecord,
    content: NoticeContent.decode(row.get('content') as Buffer),
    priority: row.get('priority') as NoticePriority,
    createdAtMs: toNumber(row.get('created_at_ms')),
    deliverAtMs: toNumber(row.get('deliver_at_ms')),
    expireAtMs: toNumber(row.get('expire_at_ms')),
    state: row.get('state') as NoticeState,
    serverMsgId: row.get('server_msg_id') as string,
    firedAtMs: toNumber(row.get('fired_at_ms')),
    cancelledAtMs: toNumber(row.get('cancelled_at_ms')),
    claimOwner: row.get('claim_owner') as string,
    claimUntilMs: toNumber(row.get('claim_until_ms')),
    timelineSeq: toNumber(row.get('timeline_seq')),
  };
}

/** Ids are ASCII, so JS order is byte order: the order every adapter sorts by. */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
