// MuteStore on Cassandra: mutes, a partition per user clustered by conversation, in infra/cql/0012_push_mutes.cql.
//
// A set is one write, an unmute one delete: the last to be written wins (client-side write times), as in every
// adapter. mutedOf groups the pairs it is asked by user and reads each user's partition once per chunk of their
// conversations (conversation IN ...), a few users at a time. Expired mutes keep their rows (a user has at most a row
// per conversation they muted) and are left out when read: untilMs is compared with the caller's nowMs, never with
// this node's clock, so no TTL.
import type { types } from 'cassandra-driver';
import { DEFAULT_CONCURRENCY, forEachLimit, long, toNumber, type Client } from '../../lib/cassandra.ts';
import { byConversation, type Mute, type MuteStore } from './mute-store.ts';

const CQL = {
  set: 'INSERT INTO mutes (user_id, conversation, until_ms) VALUES (?, ?, ?)',
  unset: 'DELETE FROM mutes WHERE user_id = ? AND conversation = ?',
  some: 'SELECT conversation, until_ms FROM mutes WHERE user_id = ? AND conversation IN ?',
  ofUser: 'SELECT conversation, until_ms FROM mutes WHERE user_id = ?',
} as const;

/** Conversations per `IN (...)` when reading one user's mutes. */
const IN_CHUNK = 100;

/** Rows per page when reading a user's whole partition. */
const PAGE = 1_000;

export interface CassandraMuteStoreOptions {
  /** In-flight requests per call. Default DEFAULT_CONCURRENCY. */
  concurrency?: number;
}

export class CassandraMuteStore implements MuteStore {
  private readonly concurrency: number;

  constructor(
    private readonly client: Client,
    options: CassandraMuteStoreOptions = {},
  ) {
    this.concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  }

  async set(user: string, conversation: string, untilMs: number): Promise<void> {
    if (untilMs === 0) await this.client.execute(CQL.unset, [user, conversation]);
    else await this.client.execute(CQL.set, [user, conversation, long(untilMs)]);
  }

  async mutedOf(pairs: readonly { user: string; conversation: string }[], nowMs: number): Promise<boolean[]> {
    // user → the conversations asked of them (each once).
    const asked = new Map<string, Set<string>>();
    for (const { user, conversation } of pairs) {
      const conversations = asked.get(user);
      if (conversations) conversations.add(conversation);
      else asked.set(user, new Set([conversation]));
    }
    const reads = [...asked].flatMap(([user, conversations]) =>
      chunks([...conversations]).map((chunk) => ({ user, chunk })),
    );
    // user → the conversations of theirs muted at nowMs.
    const muted = new Map<string, Set<string>>();
    await forEachLimit(reads, this.concurrency, async ({ user, chunk }) => {
      for (const row of (await this.client.execute(CQL.some, [user, chunk])).rows) {
        if (toNumber(row.get('until_ms')) <= nowMs) continue;
        const conversations = muted.get(user);
        if (conversations) conversations.add(row.get('conversation') as string);
        else muted.set(user, new Set([row.get('conversation') as string]));
      }
    });
    return pairs.map(({ user, conversation }) => muted.get(user)?.has(conversation) ?? false);
  }

  async ofUser(user: string, nowMs: number): Promise<Mute[]> {
    const mutes: Mute[] = [];
    for await (const row of await this.client.execute(CQL.ofUser, [user], { fetchSize: PAGE })) {
      const mute = toMute(row);
      if (mute.untilMs > nowMs) mutes.push(mute);
    }
    // Clustered by conversation in UTF-8 byte order; sort as JS does so every adapter agrees.
    return mutes.sort(byConversation);
  }
}

/** `items` in chunks of IN_CHUNK. */
function chunks<T>(items: readonly T[]): T[][] {
  return Array.from({ length: Math.ceil(items.length / IN_CHUNK) }, (_, i) =>
    items.slice(i * IN_CHUNK, (i + 1) * IN_CHUNK),
  );
}

function toMute(row: types.Row): Mute {
  return { conversation: row.get('conversation') as string, untilMs: toNumber(row.get('until_ms')) };
}
