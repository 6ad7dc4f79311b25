// InboxStore on Cassandra (tables in infra/cql/0002_inbox_groups_seq_terms.cql; layout and reasoning in
// docs/decisions/0005-cassandra-inbox-buckets.md).
import { bufferView } from '../lib/buffer-view.ts';
import { Message } from '../proto/gen/im/v1/message.pb.ts';
import {
  DEFAULT_CONCURRENCY,
  coalescedWrites,
  LONG_MAX,
  forEachLimit,
  long,
  toNumber,
  writeTogether,
  type Client,
  type Write,
} from '../lib/cassandra.ts';
import type { types } from 'cassandra-driver';
import { batched } from '../lib/coalesce.ts';
import {
  decodePage,
  tombstone,
  type EncodedInboxPage,
  type InboxPage,
  type InboxRef,
  type InboxStore,
} from './inbox-store.ts';

/**
 * Seqs per partition. A power of two, so 2^32 (one term) is a whole number of buckets and a term never shares a
 * bucket with the next one; 1024 messages of a few KB keep a partition in the low MB.
 */
export const BUCKET_SIZE = 1024;

export function bucketOf(seq: number): number {
  return Math.floor(seq / BUCKET_SIZE);
}

export interface CassandraInboxStoreOptions {
  /**
   * Retention, as in MemoryInboxStore, but by whole buckets: a user keeps the newest ceil(n / BUCKET_SIZE) + 1
   * non-empty buckets, i.e. at least n messages while seqs are dense (they are, within a term), fewer only when
   * a term change left a bucket part-empty. Default 20 000.
   */
  retainedPerUser?: number;
  /** In-flight requests per call. Default DEFAULT_CONCURRENCY. */
  concurrency?: number;
  /** (user, bucket) pairs this process remembers as registered in inbox_buckets. Default 100 000. */
  knownBucketsCache?: number;
}

/** Rows per unlogged batch. */
const BATCH_ROWS = 64;
/** Bytes per batch spanning partitions: under Cassandra's default batch_size_fail_threshold (50 KiB) for those. */
const BATCH_BYTES = 40 * 1024;

const CQL = {
  insert: 'INSERT INTO inbox_messages (user_id, bucket, seq, message) VALUES (?, ?, ?, ?)',
  page: 'SELECT seq, message FROM inbox_messages WHERE user_id = ? AND bucket = ? AND seq > ? AND seq < ? LIMIT ?',
  entries: 'SELECT seq, message FROM inbox_messages WHERE user_id = ? AND bucket = ? AND seq IN ?',
  topSeq: 'SELECT seq FROM inbox_messages WHERE user_id = ? AND bucket = ? ORDER BY seq DESC LIMIT 1',
  remove: 'DELETE FROM inbox_messages WHERE user_id = ? AND bucket = ? AND seq = ?',
  scan: 'SELECT user_id, message FROM inbox_messages',
  dropBucket: 'DELETE FROM inbox_messages WHERE user_id = ? AND bucket = ?',
  registerBucket: 'INSERT INTO inbox_buckets (user_id, bucket) VALUES (?, ?)',
  unregisterBucket: 'DELETE FROM inbox_buckets WHERE user_id = ? AND bucket = ?',
  buckets: 'SELECT bucket, floor_seq FROM inbox_buckets WHERE user_id = ?',
  raiseFloor: 'UPDATE inbox_buckets USING TIMESTAMP ? SET floor_seq = ? WHERE user_id = ?',
  ack: 'UPDATE inbox_cursors USING TIMESTAMP ? SET seq = ? WHERE user_id = ? AND device = ?',
  cursor: 'SELECT seq FROM inbox_cursors WHERE user_id = ? AND device = ?',
  cursorsOf: 'SELECT user_id, device, seq FROM inbox_cursors WHERE user_id IN ?',
} as const;

const idempotent = { isIdempotent: true } as const;

interface Partition {
  user: string;
  bucket: number;
  /** By seq: the last entry written for a seq in one call wins, as in the memory adapter. */
  messages: Map<number, Message>;
}

function checkSeq(seq: number, what: string): void {
  if (!Number.isSafeInteger(seq) || seq < 0) throw new RangeError(`inbox: ${what} ${seq} is not a seq`);
}

function encode(message: Message): Buffer {
  return bufferView(Message.encode(message).finish());
}

/** Rows read as a page: the first `want - 1` of them; a `want`-th row only says there is more. */
function pageOf(rows: readonly types.Row[], want: number, floorSeq: number): EncodedInboxPage {
  const kept = rows.slice(0, want - 1);
  return {
    seqs: kept.map((row) => toNumber(row.get('seq'))),
    encoded: kept.map((row) => row.get('message') as Buffer),
    hasMore: rows.length >= want,
    floorSeq,
  };
}

export class CassandraInboxStore implements InboxStore {
  private readonly keepBuckets: number;
  private readonly concurrency: number;
  private readonly cacheLimit: number;
  /** Insertion-ordered, so the oldest entry goes first when full. */
  private readonly knownBuckets = new Map<string, true>();
  /**
   * The acks of one turn go out as one unlogged batch (after a reconnect storm's syncs come thousands of acks at
   * once), and the cursors asked for in one turn come back from one `IN` read.
   */
  private readonly writeAcks: (writes: Write[]) => Promise<void>;
  private readonly readCursor: (key: { user: string; device: string }) => Promise<number>;

  constructor(
    private readonly client: Client,
    options: CassandraInboxStoreOptions = {},
  ) {
    const retained = options.retainedPerUser ?? 20_000;
    if (!(retained >= 1)) throw new RangeError('inbox: retainedPerUser must be at least 1');
    this.keepBuckets = Math.ceil(retained / BUCKET_SIZE) + 1;
    this.concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
    this.cacheLimit = options.knownBucketsCache ?? 100_000;
    this.writeAcks = coalescedWrites(this.client, idempotent);
    this.readCursor = batched(
      async ({ user, device }) => toNumber((await this.client.execute(CQL.cursor, [user, device])).first()?.get('seq')),
      async (keys) => {
        const users = [...new Set(keys.map((k) => k.user))];
        const seqs = new Map<string, number>();
        for (const row of (await this.client.execute(CQL.cursorsOf, [users])).rows) {
          seqs.set(`${row.get('user_id') as string}\n${row.get('device') as string}`, toNumber(row.get('seq')));
        }
        return keys.map(({ user, device }) => seqs.get(`${user}\n${device}`) ?? 0);
      },
      { maxBatch: 100 },
    );
  }

  async write(entries: readonly { user: string; message: Message }[]): Promise<void> {
    const partitions = new Map<string, Partition>();
    for (const { user, message } of entries) {
      checkSeq(message.seq, 'message seq');
      const bucket = bucketOf(message.seq);
      const key = `${user}\n${bucket}`;
      let partition = partitions.get(key);
      if (!partition) partitions.set(key, (partition = { user, bucket, messages: new Map() }));
      partition.messages.set(message.seq, message);
    }
    // Register new buckets before their rows exist: an index entry without rows is skipped by readers, rows
    // without an index entry would be invisible.
    const fresh = [...partitions].filter(([key]) => !this.knownBuckets.has(key));
    await this.writeRows(fresh.map(([, p]) => ({ query: CQL.registerBucket, params: [p.user, p.bucket] })));
    await this.writeRows(
      [...partitions.values()].flatMap(({ user, bucket, messages }) =>
        [...messages].map(([seq, message]) => ({ query: CQL.insert, params: [user, bucket, seq, encode(message)] })),
      ),
    );
    for (const [key] of fresh) this.remember(key);
    // A new bucket is the only thing that can push a user past retention.
    const users = new Set(fresh.map(([, p]) => p.user));
    await forEachLimit(users, this.concurrency, (user) => this.trim(user));
  }

  async read(
    user: string,
    afterSeq: number,
    limit: number,
    beforeSeq = Infinity,
    headSeq?: number,
  ): Promise<InboxPage> {
    return decodePage(await this.readEncoded(user, afterSeq, limit, beforeSeq, headSeq));
  }

  async readEncoded(
    user: string,
    afterSeq: number,
    limit: number,
    beforeSeq = Infinity,
    headSeq?: number,
  ): Promise<EncodedInboxPage> {
    const want = Math.max(0, Math.floor(limit)) + 1; // one more than asked tells whether there is more
    const upper = Number.isFinite(beforeSeq) ? long(beforeSeq) : LONG_MAX;
    if (headSeq !== undefined) {
      const known = await this.readOneBucket(user, afterSeq, want, beforeSeq, upper, headSeq);
      if (known) return known;
    }
    const { buckets, floorSeq } = await this.index(user);
    const from = Math.max(afterSeq, floorSeq);
    const lastBucket = Number.isFinite(beforeSeq) ? bucketOf(beforeSeq - 1) : Infinity;
    const rows: types.Row[] = [];
    // Walks only buckets that exist (bounded by retention), never the numeric range between them.
    for (const bucket of buckets) {
      if (rows.length >= want || bucket > lastBucket) break;
      if (bucket < bucketOf(from)) continue;
      const rest = want - rows.length;
      rows.push(...(await this.client.execute(CQL.page, [user, bucket, from, upper, rest], { fetchSize: rest })).rows);
    }
    return pageOf(rows, want, floorSeq);
  }

  /**
   * The common read, a device catching up within one bucket, without the bucket index: when everything between
   * afterSeq and the head lies in one bucket, that bucket's rows are the page. A reader past the head gets an empty
   * page. Rows found in the bucket mean it was not dropped, and a dropped bucket is older than every kept one, so
   * the floor is at or below afterSeq: the page says floorSeq 0 (no reset). Anything else (the range spans
   * buckets, or the bucket has nothing: retention may have dropped it) is undefined, for the index read to decide.
   */
  private async readOneBucket(
    user: string,
    afterSeq: number,
    want: number,
    beforeSeq: number,
    upper: types.Long,
    headSeq: number,
  ): Promise<EncodedInboxPage | undefined> {
    if (headSeq <= afterSeq) return { seqs: [], encoded: [], hasMore: false, floorSeq: 0 };
    const bucket = bucketOf(afterSeq + 1);
    if (bucketOf(Math.min(headSeq, beforeSeq - 1)) !== bucket) return undefined;
    const rows = (await this.client.execute(CQL.page, [user, bucket, afterSeq, upper, want], { fetchSize: want })).rows;
    return rows.length === 0 ? undefined : pageOf(rows, want, 0);
  }

  /**
   * Reads the entries before writing their tombstones: an upsert alone would create a row at a seq never written or
   * already dropped. (A trim that drops the bucket between the read and the write leaves a tombstone in an
   * unregistered bucket, which no reader walks.) Entries already tombstoned are not written again.
   */
  async redact(entries: readonly InboxRef[]): Promise<void> {
    const partitions = new Map<string, { user: string; bucket: number; seqs: Set<number> }>();
    for (const { user, seq } of entries) {
      checkSeq(seq, 'redacted seq');
      const bucket = bucketOf(seq);
      const key = `${user}\n${bucket}`;
      let partition = partitions.get(key);
      if (!partition) partitions.set(key, (partition = { user, bucket, seqs: new Set() }));
      partition.seqs.add(seq);
    }
    const writes: Write[] = [];
    await forEachLimit(partitions.values(), this.concurrency, async ({ user, bucket, seqs }) => {
      const found = await this.client.execute(CQL.entries, [user, bucket, [...seqs].map(long)]);
      for (const row of found.rows) {
        const message = Message.decode(row.get('message') as Buffer);
        if (message.recalled && message.body.length === 0) continue;
        writes.push({ query: CQL.insert, params: [user, bucket, row.get('seq'), encode(tombstone(message))] });
      }
    });
    await this.writeRows(writes);
  }

  async remove(entries: readonly InboxRef[]): Promise<void> {
    for (const { seq } of entries) checkSeq(seq, 'removed seq');
    await this.writeRows(
      entries.map(({ user, seq }) => ({ query: CQL.remove, params: [user, bucketOf(seq), long(seq)] })),
    );
  }

  async ack(user: string, device: string, seq: number): Promise<void> {
    if (seq <= 0) return;
    checkSeq(seq, 'ack seq');
    // The write timestamp is the seq itself: last-write-wins then keeps the highest seq ever acked, whatever
    // the order the writes arrive in, with no read-before-write and no LWT.
    await this.writeAcks([{ query: CQL.ack, params: [long(seq), seq, user, device] }]);
  }

  cursor(user: string, device: string): Promise<number> {
    return this.readCursor({ user, device });
  }

  /** The whole table in token order, paged by the driver (a full scan: an operator's reindex, never a request's). */
  async *scan(pageSize = 1_000): AsyncIterable<{ user: string; message: Message }> {
    let pageState: string | undefined;
    do {
      const page = await this.client.execute(CQL.scan, [], { prepare: true, fetchSize: pageSize, pageState });
      for (const row of page.rows) {
        yield { user: row.get('user_id') as string, message: Message.decode(row.get('message') as Buffer) };
      }
      pageState = page.pageState ?? undefined;
    } while (pageState);
  }

  /** The user's non-empty buckets, ascending, and the retention floor. */
  private async index(user: string): Promise<{ buckets: number[]; floorSeq: number }> {
    const rows = (await this.client.execute(CQL.buckets, [user])).rows;
    const buckets: number[] = [];
    for (const row of rows) {
      const bucket = row.get('bucket') as unknown;
      if (bucket !== null && bucket !== undefined) buckets.push(toNumber(bucket));
    }
    return { buckets, floorSeq: toNumber(rows[0]?.get('floor_seq')) };
  }

  /**
   * Rows in unlogged batches of up to BATCH_ROWS, one partition's rows together. A batch may span partitions: on
   * our scale the fixed cost of a request outweighs the rows (docs/decisions/0012), and every row is idempotent.
   */
  private async writeRows(rows: Write[]): Promise<void> {
    const chunks: (typeof rows)[] = [];
    let bytes = Infinity;
    for (const row of rows) {
      const size = row.params.reduce<number>((n, p) => n + (Buffer.isBuffer(p) ? p.length : String(p).length), 0);
      if (bytes + size > BATCH_BYTES || chunks.at(-1)!.length >= BATCH_ROWS) {
        chunks.push([]);
        bytes = 0;
      }
      chunks.at(-1)!.push(row);
      bytes += size;
    }
    await forEachLimit(chunks, this.concurrency, (chunk) => writeTogether(this.client, chunk, idempotent));
  }

  /**
   * Drops the oldest buckets beyond `keepBuckets`: first raises the floor to the highest seq they hold (so a
   * reader never sees a hole the floor does not explain), then deletes each as one partition tombstone.
   * Concurrent trims of one user do the same thing twice, which is harmless.
   */
  private async trim(user: string): Promise<void> {
    const { buckets } = await this.index(user);
    const dropped = buckets.slice(0, Math.max(0, buckets.length - this.keepBuckets));
    if (dropped.length === 0) return;
    let top: number | undefined;
    for (let i = dropped.length - 1; i >= 0 && top === undefined; i--) {
      const row = (await this.client.execute(CQL.topSeq, [user, dropped[i]])).first();
      if (row) top = toNumber(row.get('seq'));
    }
    if (top !== undefined) await this.client.execute(CQL.raiseFloor, [long(top), top, user], idempotent);
    for (const bucket of dropped) {
      await this.client.execute(CQL.dropBucket, [user, bucket], idempotent);
      await this.client.execute(CQL.unregisterBucket, [user, bucket], idempotent);
      this.knownBuckets.delete(`${user}\n${bucket}`);
    }
  }

  private remember(key: string): void {
    this.knownBuckets.delete(key);
    this.knownBuckets.set(key, true);
    if (this.knownBuckets.size > this.cacheLimit) {
      const oldest = this.knownBuckets.keys().next();
      if (!oldest.done) this.knownBuckets.delete(oldest.value);
    }
  }
}
