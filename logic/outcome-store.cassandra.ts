import { SendOutcome } from '../proto/gen/im/v1/store.pb.ts';
import type { Client } from '../lib/cassandra.ts';
import type { OutcomeStore } from './outcome-store.ts';

const CQL = {
  get: 'SELECT outcome, done FROM send_outcomes WHERE key = ?',
  put: 'INSERT INTO send_outcomes (key, outcome, done) VALUES (?, ?, false) USING TTL ?',
  done: 'UPDATE send_outcomes USING TTL ? SET done = true WHERE key = ?',
} as const;

/**
 * Outcomes in Cassandra, so dedupe survives a Redis that lost its data. No lightweight transaction: every
 * attempt of one key is a record of the same conversation, which one consumer handles in order, so read-then-write
 * cannot race (apart from the moment of a consumer-group rebalance, when Kafka may hand a record to two consumers).
 */
export class CassandraOutcomeStore implements OutcomeStore {
  constructor(private readonly client: Client) {}

  async get(key: string): Promise<SendOutcome | undefined> {
    const row = (await this.client.execute(CQL.get, [key])).first();
    if (!row) return undefined;
    const outcome = SendOutcome.decode(row.get('outcome') as Buffer);
    return { ...outcome, done: outcome.done || row.get('done') === true };
  }

  async putIfAbsent(key: string, outcome: SendOutcome, ttlMs: number): Promise<SendOutcome> {
    const known = await this.get(key);
    if (known) return known;
    const bytes = Buffer.from(SendOutcome.encode({ ...outcome, done: false }).finish());
    await this.client.execute(CQL.put, [key, bytes, ttlSeconds(ttlMs)]);
    return { ...outcome, done: false };
  }

  async markDone(key: string, ttlMs: number): Promise<void> {
    await this.client.execute(CQL.done, [ttlSeconds(ttlMs), key]);
  }
}

function ttlSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}
