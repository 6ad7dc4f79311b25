// DeadLetterStore on Cassandra: push_dead_letters, one partition per shard clustered by id, in
// infra/cql/0011_push_dead_letters.cql. Dead letters are few, so one partition holds them all; list pages through it
// in id order (UTF8Type compares the bytes: the port's order).
//
// Capacity is kept approximately, by the process that adds: after its write, an add counts the partition and, past
// capacity, reads every letter's (at_ms, id) and deletes the oldest. One store runs one such trim at a time, and the
// adds that land during it share the next, so an add resolves once a trim that began after its write is done: a
// store alone in its partition keeps the bound exactly. Stores of several processes adding at once may each see a
// count from before the others' writes, and leave a few letters too many until the next add.
//
// No lightweight transactions: every delete is USING TIMESTAMP of the write time of the version it read, so it takes
// out exactly that version; the same id added again since (a replay that failed again) wrote later and stays. So a
// take returns the version it read. Two takes of one letter at the same moment may both read it, and both return it:
// the push is replayed twice, under one collapse id, which on the device replaces itself. An LWT would make a take
// exact, but mixing its Paxos timestamps with the plain writes of add could shadow an add made right after a take.
import type { types } from 'cassandra-driver';
import { DEFAULT_CONCURRENCY, forEachLimit, long, toNumber, writeTogether, type Client } from '../../lib/cassandra.ts';
import {
  byAge,
  copyPush,
  DEFAULT_DEAD_LETTER_CAPACITY,
  type DeadLetter,
  type DeadLetterStore,
} from './dead-letter-store.ts';
import type { MobilePush } from './push-sender.ts';

const COLUMNS = 'id, user_id, device, push, reason, attempts, at_ms';

const CQL = {
  add: `INSERT INTO push_dead_letters (shard, ${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  count: 'SELECT COUNT(*) AS kept FROM push_dead_letters WHERE shard = ?',
  ages: 'SELECT id, at_ms, WRITETIME(at_ms) AS written FROM push_dead_letters WHERE shard = ?',
  page: `SELECT ${COLUMNS} FROM push_dead_letters WHERE shard = ? AND id > ? LIMIT ?`,
  some: `SELECT ${COLUMNS}, WRITETIME(at_ms) AS written FROM push_dead_letters WHERE shard = ? AND id IN ?`,
  drop: 'DELETE FROM push_dead_letters USING TIMESTAMP ? WHERE shard = ? AND id = ?',
} as const;

/** Ids per `IN (...)` read, and deletes per batch (each batch one partition's). */
const CHUNK = 100;

/** Rows per page when the trim reads the whole partition. */
const SCAN_PAGE = 5_000;

export interface CassandraDeadLetterStoreOptions {
  /** Letters kept at most (approximately: see the notes above). Default DEFAULT_DEAD_LETTER_CAPACITY. */
  capacity?: number;
  /** The partition. 0 in production; tests use their own, so they never see others' letters. */
  shard?: number;
  /** In-flight requests per call. Default DEFAULT_CONCURRENCY. */
  concurrency?: number;
}

/** A letter's version as read: its id, and the write time a delete of just that version names. */
interface Version {
  id: string;
  atMs: number;
  written: types.Long;
}

export class CassandraDeadLetterStore implements DeadLetterStore {
  private readonly capacity: number;
  private readonly shard: number;
  private readonly concurrency: number;
  /** The trim under way, and the one that runs after it for the adds that came meanwhile. */
  private running: Promise<void> | undefined;
  private queued: Promise<void> | undefined;

  constructor(
    private readonly client: Client,
    options: CassandraDeadLetterStoreOptions = {},
  ) {
    this.capacity = options.capacity ?? DEFAULT_DEAD_LETTER_CAPACITY;
    this.shard = options.shard ?? 0;
    this.concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  }

  /** Rejects when the write or the trim after it failed (after a failed trim the letter is kept all the same). */
  async add(l: DeadLetter): Promise<void> {
    await this.client.execute(CQL.add, [
      this.shard,
      l.id,
      l.user,
      l.device,
      JSON.stringify(copyPush(l.push)),
      l.reason,
      l.attempts,
      long(l.atMs),
    ]);
    await this.trim();
  }

  async list(after: string, limit: number): Promise<{ items: DeadLetter[]; next?: string }> {
    const rows = (await this.client.execute(CQL.page, [this.shard, after, limit + 1], { fetchSize: limit + 1 })).rows;
    const items = rows.slice(0, limit).map(toLetter);
    return rows.length > limit ? { items, next: items.at(-1)!.id } : { items };
  }

  /** Rejects when a read or a delete failed; letters whose delete had gone through are then lost with the call. */
  async take(ids: readonly string[]): Promise<DeadLetter[]> {
    const unique = [...new Set(ids)];
    const found = new Map<string, { letter: DeadLetter; version: Version }>();
    await forEachLimit(chunks(unique), this.concurrency, async (chunk) => {
      for (const row of (await this.client.execute(CQL.some, [this.shard, chunk])).rows) {
        const letter = toLetter(row);
        found.set(letter.id, { letter, version: { id: letter.id, atMs: letter.atMs, written: written(row) } });
      }
    });
    await this.drop([...found.values()].map((f) => f.version));
    return unique.flatMap((id) => {
      const f = found.get(id);
      return f ? [f.letter] : [];
    });
  }

  /** A trim that begins after this call: the one queued behind the trim under way, or a new one. */
  private trim(): Promise<void> {
    if (this.queued) return this.queued;
    const start = (): Promise<void> => {
      const run = this.trimNow().finally(() => {
        if (this.running === run) this.running = undefined;
      });
      this.running = run;
      return run;
    };
    if (!this.running) return start();
    const queued = this.running
      .catch(() => undefined)
      .then(() => {
        this.queued = undefined;
        return start();
      });
    this.queued = queued;
    return queued;
  }

  /** Counts the partition; past capacity, deletes the oldest by (atMs, id). */
  private async trimNow(): Promise<void> {
    const kept = toNumber((await this.client.execute(CQL.count, [this.shard])).first()?.get('kept'));
    if (kept <= this.capacity) return;
    const versions: Version[] = [];
    for await (const row of await this.client.execute(CQL.ages, [this.shard], { fetchSize: SCAN_PAGE }))
      versions.push({ id: row.get('id') as string, atMs: toNumber(row.get('at_ms')), written: written(row) });
    versions.sort(byAge);
    await this.drop(versions.slice(0, Math.max(0, versions.length - this.capacity)));
  }

  /** Deletes these versions of letters (a later version of one of their ids stays). */
  private async drop(versions: readonly Version[]): Promise<void> {
    await forEachLimit(chunks(versions), this.concurrency, (chunk) =>
      writeTogether(
        this.client,
        chunk.map((v) => ({ query: CQL.drop, params: [v.written, this.shard, v.id] })),
      ),
    );
  }
}

/** `items` in chunks of CHUNK. */
function chunks<T>(items: readonly T[]): T[][] {
  return Array.from({ length: Math.ceil(items.length / CHUNK) }, (_, i) => items.slice(i * CHUNK, (i + 1) * CHUNK));
}

/** The write time (µs) a row was read with, as `written`. */
function written(row: types.Row): types.Long {
  return row.get('written') as types.Long;
}

function toLetter(row: types.Row): DeadLetter {
  return {
    id: row.get('id') as string,
    user: row.get('user_id') as string,
    device: row.get('device') as string,
    push: copyPush(JSON.parse(row.get('push') as string) as MobilePush),
    reason: row.get('reason') as string,
    attempts: row.get('attempts') as number,
    atMs: toNumber(row.get('at_ms')),
  };
}
