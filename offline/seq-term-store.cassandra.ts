// SeqTermStore on Cassandra: one row of im.seq_terms per sequence name, changed only by lightweight transactions.
// LWT costs four round trips of Paxos, which is fine here: the row is created once and the term moves only when
// Redis lost its counters.
import { randomInt } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import cassandra from 'cassandra-driver';
import { isWriteTimeout, long, toNumber, type Client } from '../lib/cassandra.ts';
import type { SeqTermStore } from './seq-term-store.ts';

const CQL = {
  create: 'INSERT INTO seq_terms (name, generation, term) VALUES (?, ?, 1) IF NOT EXISTS',
  read: 'SELECT generation, term FROM seq_terms WHERE name = ?',
  // A separate table: LWT and plain writes never mix on one row. The write timestamp is the term itself, so the
  // highest term wins whatever order the writes land in.
  markUsed: 'INSERT INTO seq_terms_used (name, term) VALUES (?, ?) USING TIMESTAMP ?',
  lastUsed: 'SELECT term FROM seq_terms_used WHERE name = ?',
  advance: 'UPDATE seq_terms SET term = ? WHERE name = ? IF term = ?',
} as const;

/** Reads at SERIAL consistency see (and finish) any LWT still in progress. */
const serialRead = { consistency: cassandra.types.consistencies.localSerial } as const;

/** Attempts of one LWT that keeps timing out under contention before the error goes to the caller. */
const MAX_ATTEMPTS = 6;

export interface CassandraSeqTermStoreOptions {
  /** Row key; "inbox" in production. Tests use their own so they never move the shared term. */
  name?: string;
}

export class CassandraSeqTermStore implements SeqTermStore {
  private readonly name: string;
  private created: Promise<number> | undefined;

  constructor(
    private readonly client: Client,
    options: CassandraSeqTermStoreOptions = {},
  ) {
    this.name = options.name ?? 'inbox';
  }

  generation(): Promise<number> {
    return this.ensureRow();
  }

  async current(): Promise<number> {
    await this.ensureRow();
    return (await this.readRow()).term;
  }

  async advance(seen: number): Promise<number> {
    if (!Number.isSafeInteger(seen)) throw new RangeError(`seq term: ${seen} is not a term`);
    await this.ensureRow();
    for (let attempt = 1; ; attempt++) {
      try {
        const result = await this.client.execute(CQL.advance, [seen + 1, this.name, seen]);
        if (result.wasApplied()) return seen + 1;
        // Not applied: the result carries the term the condition was checked against, read inside Paxos.
        const term = result.first()?.get('term') as unknown;
        if (term === null || term === undefined) throw new Error(`seq term: row ${this.name} disappeared`);
        return toNumber(term);
      } catch (err) {
        // A timed-out LWT may or may not have applied; a SERIAL read settles it.
        if (!isWriteTimeout(err) || attempt >= MAX_ATTEMPTS) throw err;
        const { term } = await this.readRow();
        if (term !== seen) return term;
        await sleep(randomInt(20, 50 * attempt));
      }
    }
  }

  async markUsed(term: number): Promise<void> {
    await this.client.execute(CQL.markUsed, [this.name, long(term), long(term)]);
  }

  async lastUsed(): Promise<number> {
    const row = (await this.client.execute(CQL.lastUsed, [this.name])).first();
    return row ? toNumber(row.get('term')) : 0;
  }

  /** Creates the row once (random generation, term 1) and resolves to its generation. */
  private ensureRow(): Promise<number> {
    this.created ??= this.createRow().catch((err: unknown) => {
      this.created = undefined; // let the next call try again
      throw err;
    });
    return this.created;
  }

  private async createRow(): Promise<number> {
    const generation = randomInt(1, 2 ** 48 - 1);
    for (let attempt = 1; ; attempt++) {
      try {
        const result = await this.client.execute(CQL.create, [this.name, generation]);
        if (result.wasApplied()) return generation;
        return toNumber(result.first()?.get('generation'));
      } catch (err) {
        if (!isWriteTimeout(err) || attempt >= MAX_ATTEMPTS) throw err;
        const row = await this.readRow().catch(() => undefined);
        if (row) return row.generation;
        await sleep(randomInt(20, 50 * attempt));
      }
    }
  }

  private async readRow(): Promise<{ generation: number; term: number }> {
    const row = (await this.client.execute(CQL.read, [this.name], serialRead)).first();
    if (!row) throw new Error(`seq term: row ${this.name} does not exist`);
    return { generation: toNumber(row.get('generation')), term: toNumber(row.get('term')) };
  }
}
