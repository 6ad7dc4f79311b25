import { randomInt } from 'node:crypto';
import { groupCommit, type GroupCommit } from '../lib/group-commit.ts';
import type { Sqlite } from '../lib/sqlite.ts';
import { InFlightSeqs } from './in-flight-seqs.ts';
import { TERM_SHIFT } from './seq-term-store.ts';
import type { Sequencer } from './sequencer.ts';

/** A seq must stay a safe integer: term * 2^32 + counter < 2^53. */
const MAX_TERM = 2 ** 21 - 1;
/** SQLite's `PRAGMA synchronous` value for FULL: every commit fsynced. */
const SYNCHRONOUS_FULL = 2;

/**
 * Tables:
 * - offline_seq_state (name = 'inbox') → generation (random, chosen when the file is created: the epoch), term (the
 *   term of this process), used_term (the highest term that handed out seqs)
 * - offline_seqs (user) → seq, the last seq handed to the user (its head)
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS offline_seq_state (
  name TEXT PRIMARY KEY,
  generation INTEGER NOT NULL,
  term INTEGER NOT NULL,
  used_term INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS offline_seqs (
  user TEXT PRIMARY KEY,
  seq INTEGER NOT NULL
) WITHOUT ROWID;
`;

interface State {
  generation: number;
  term: number;
  used_term: number;
}

function prepare(db: Sqlite) {
  db.exec(SCHEMA);
  return {
    state: db.prepare<[], State>("SELECT generation, term, used_term FROM offline_seq_state WHERE name = 'inbox'"),
    create: db.prepare<[number]>(
      "INSERT INTO offline_seq_state (name, generation, term, used_term) VALUES ('inbox', ?, 0, -1)",
    ),
    setTerm: db.prepare<[number]>("UPDATE offline_seq_state SET term = ? WHERE name = 'inbox'"),
    markUsed: db.prepare<[number]>("UPDATE offline_seq_state SET used_term = ? WHERE name = 'inbox'"),
    head: db.prepare<[string], number>('SELECT seq FROM offline_seqs WHERE user = ?').pluck(),
    setHead: db.prepare<[string, number]>(
      'INSERT INTO offline_seqs (user, seq) VALUES (?, ?) ON CONFLICT DO UPDATE SET seq = excluded.seq',
    ),
  };
}

/**
 * The embedded mode's sequencer: per-user counters in the same SQLite file (and the same connection) as the inbox.
 *
 * No SeqTermStore: that port exists because Redis can lose its counters while the durable store keeps the term.
 * Here counters and term live in one file and move in transactions, so they cannot part ways. A term is still
 * needed, inside the file: under durability 'normal' a power loss can roll back the last commits, counters
 * included, while seqs from them may already have reached clients (online push, sync keys). So each process that
 * hands out seqs does so in a term of its own (seq = term * 2^32 + counter), and fsyncs the mark that its term is
 * used before the first seq leaves it: a later process never reuses a seq, whatever the rollback. A process that
 * never allocates burns no term, so a crash loop without traffic does not use up the 2^21 terms.
 *
 * In-flight seqs are tracked in memory: the database is held by one process (the data directory's lock), so after a
 * restart no writer of an earlier seq is alive, and allocated seqs that were never written are gaps. Use one
 * instance per database.
 */
export class SqliteSequencer implements Sequencer {
  private readonly sql: ReturnType<typeof prepare>;
  private readonly commit: GroupCommit;
  private readonly generation: number;
  private readonly term: number;
  private termUsed: boolean;
  private readonly allocateAll: (users: readonly string[]) => number[];
  private readonly inFlight: InFlightSeqs;

  constructor(
    private readonly db: Sqlite,
    options: { inFlightTtlMs?: number; now?: () => number } = {},
  ) {
    this.inFlight = new InFlightSeqs(options.inFlightTtlMs ?? 30_000, options.now ?? Date.now);
    this.sql = prepare(db);
    this.commit = groupCommit(db);
    ({ generation: this.generation, term: this.term } = this.openTerm());
    this.termUsed = false;
    this.allocateAll = db.transaction((users: readonly string[]) => {
      if (!this.termUsed) this.sql.markUsed.run(this.term);
      const base = this.term * TERM_SHIFT;
      return users.map((user) => {
        const seq = Math.max((this.sql.head.get(user) ?? 0) + 1, base + 1);
        if (seq >= base + TERM_SHIFT) throw new Error(`offline: seq counter of ${user} overflows its term`);
        this.sql.setHead.run(user, seq);
        return seq;
      });
    });
  }

  /** A fresh file starts at term 0 (seqs 1, 2, …); an open after a process that handed out seqs takes the next. */
  private openTerm(): { generation: number; term: number } {
    return this.db
      .transaction(() => {
        const state = this.sql.state.get();
        if (!state) {
          const generation = randomInt(1, 2 ** 48 - 1);
          this.sql.create.run(generation);
          return { generation, term: 0 };
        }
        if (state.used_term < state.term) return { generation: state.generation, term: state.term };
        if (state.term >= MAX_TERM) throw new Error('offline: seq terms used up (one per process that sent messages)');
        this.sql.setTerm.run(state.term + 1);
        return { generation: state.generation, term: state.term + 1 };
      })
      .immediate();
  }

  async allocate(users: readonly string[]): Promise<number[]> {
    if (users.length === 0) return [];
    // Seqs count as in flight from the moment they are taken, before their commit: a reader stops below them.
    const track = (seqs: number[]) => {
      this.inFlight.add(users, seqs);
      return seqs;
    };
    if (!this.termUsed) return track(this.firstAllocate(users));
    return this.commit.staged(() => track(this.allocateAll(users)));
  }

  /** The term's first allocation commits with fsync, whatever the durability: it carries the mark of the term. */
  private firstAllocate(users: readonly string[]): number[] {
    // Its own commit: what the turn's transaction holds so far goes first.
    this.commit.flush();
    const synchronous = this.db.pragma('synchronous', { simple: true }) as number;
    if (synchronous < SYNCHRONOUS_FULL) this.db.pragma(`synchronous = ${SYNCHRONOUS_FULL}`);
    try {
      const seqs = this.allocateAll(users);
      this.termUsed = true;
      return seqs;
    } finally {
      if (synchronous < SYNCHRONOUS_FULL) this.db.pragma(`synchronous = ${synchronous}`);
    }
  }

  complete(entries: readonly { user: string; seq: number }[]): Promise<void> {
    this.inFlight.complete(entries);
    return Promise.resolve();
  }

  lowestInFlight(user: string): Promise<number | undefined> {
    return Promise.resolve(this.inFlight.lowest(user));
  }

  head(user: string): Promise<number | undefined> {
    return Promise.resolve(this.sql.head.get(user) ?? 0);
  }

  /** The file's generation: seqs stay comparable across terms, so only a new file (new data) changes the epoch. */
  epoch(): Promise<number> {
    return Promise.resolve(this.generation);
  }
}
