import { SendOutcome } from '../proto/gen/im/v1/store.pb.ts';
import type { types } from 'cassandra-driver';
import { batched } from '../lib/coalesce.ts';
import { coalescedWrites, type Client, type Write } from '../lib/cassandra.ts';
import type { OutcomeStore } from './outcome-store.ts';

type Row = types.Row;

const CQL = {
  get: 'SELECT key, outcome, done FROM send_outcomes WHERE key = ?',
  getMany: 'SELECT key, outcome, done FROM send_outcomes WHERE key IN ?',
  put: 'INSERT INTO send_outcomes (key, outcome, done) VALUES (?, ?, false) USING TTL ?',
  done: 'UPDATE send_outcomes USING TTL ? SET done = true WHERE key = ?',
  ttlLeft: 'SELECT TTL(outcome) AS ttl FROM send_outcomes WHERE key = ?',
  replace: 'UPDATE send_outcomes USING TTL ? SET outcome = ? WHERE key = ?',
  replaceDone: 'UPDATE send_outcomes USING TTL ? SET outcome = ?, done = true WHERE key = ?',
} as const;

/** Keys this process just read and found absent, at most this many (a send refused before its put leaves one). */
const ABSENT_KEYS_MAX = 10_000;

/**
 * Outcomes in Cassandra, so dedupe survives a Redis that lost its data. No lightweight transaction: every
 * attempt of one key is a record of the same conversation, which one consumer handles in order, so read-then-write
 * cannot race (apart from the moment of a consumer-group rebalance, when Kafka may hand a record to two consumers).
 * The same argument lets `putIfAbsent` trust a `get` this process just made that found nothing. The writes of
 * concurrent sends go out together in unlogged batches (docs/decisions/0012).
 */
export class CassandraOutcomeStore implements OutcomeStore {
  private readonly absent = new Set<string>();
  private readonly write: (writes: Write[]) => Promise<void>;
  /** The reads of concurrent sends go out as one `IN` query (one request's fixed cost instead of one per send). */
  private readonly read: (key: string) => Promise<Row | undefined>;

  constructor(private readonly client: Client) {
    this.read = batched(
      async (key) => (await this.client.execute(CQL.get, [key])).first() ?? undefined,
      async (keys) => {
        const rows = (await this.client.execute(CQL.getMany, [[...new Set(keys)]])).rows;
        const byKey = new Map(rows.map((row) => [row.get('key') as string, row]));
        return keys.map((key) => byKey.get(key));
      },
      { maxBatch: 64 },
    );
    this.write = coalescedWrites(this.client, {}, 32);
  }

  async get(key: string): Promise<SendOutcome | undefined> {
    const row = await this.read(key);
    if (!row) {
      if (this.absent.size >= ABSENT_KEYS_MAX) this.absent.clear();
      this.absent.add(key);
      return undefined;
    }
    const outcome = SendOutcome.decode(row.get('outcome') as Buffer);
    return { ...outcome, done: outcome.done || row.get('done') === true };
  }

  async putIfAbsent(key: string, outcome: SendOutcome, ttlMs: number): Promise<SendOutcome> {
    if (!this.absent.delete(key)) {
      const known = await this.get(key);
      this.absent.delete(key);
      if (known) return known;
    }
    const bytes = Buffer.from(SendOutcome.encode({ ...outcome, done: false }).finish());
    await this.write([{ query: CQL.put, params: [key, bytes, ttlSeconds(ttlMs)] }]);
    return { ...outcome, done: false };
  }

  async markDone(key: string, ttlMs: number): Promise<void> {
    await this.write([{ query: CQL.done, params: [ttlSeconds(ttlMs), key] }]);
  }

  /**
   * Rewrites the outcome cell with the seconds it had left, so it expires with the row. The done mark lives in its
   * own column, which this sets when asked and never clears. An outcome cell without a TTL is one this adapter
   * never wrote (`putIfAbsent` always sets one): a row whose outcome expired, with a later done mark left over.
   */
  async replace(key: string, outcome: SendOutcome): Promise<boolean> {
    const ttl = (await this.client.execute(CQL.ttlLeft, [key])).first()?.get('ttl') as number | null | undefined;
    if (!ttl) return false;
    const bytes = Buffer.from(SendOutcome.encode({ ...outcome, done: false }).finish());
    await this.write([{ query: outcome.done ? CQL.replaceDone : CQL.replace, params: [ttl, bytes, key] }]);
    return true;
  }
}

function ttlSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}
