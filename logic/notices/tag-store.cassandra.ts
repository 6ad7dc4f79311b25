// TagStore on Cassandra: notice_tag_users (partition per app and tag) and notice_tags_by_user (partition per user),
// in infra/cql/0009_notice_tags.cql.
//
// notice_tag_users is the truth and changes only by lightweight transactions, one per user a call changes, so
// racing calls count each user once and the first since_ms stays. A read of the users first spares the
// transactions of users already as asked (a tag repeated, users untagged who never carried it). notice_tags_by_user
// follows with a plain write after each transaction, applied or not (which repairs what a crash between the two
// left); a tag and an untag of the same user racing can leave it out of step until that user is tagged or untagged
// again.
import {
  DEFAULT_CONCURRENCY,
  executeAgainOnTimeout,
  forEachLimit,
  long,
  toNumber,
  type Client,
} from '../../lib/cassandra.ts';
import type { TagStore, UserTag } from './tag-store.ts';

const CQL = {
  tag: 'INSERT INTO notice_tag_users (app_id, tag, user, since_ms) VALUES (?, ?, ?, ?) IF NOT EXISTS',
  untag: 'DELETE FROM notice_tag_users WHERE app_id = ? AND tag = ? AND user = ? IF EXISTS',
  carriers: 'SELECT user FROM notice_tag_users WHERE app_id = ? AND tag = ? AND user IN ?',
  count: 'SELECT COUNT(*) AS n FROM notice_tag_users WHERE app_id = ? AND tag = ?',
  usersOf: 'SELECT user FROM notice_tag_users WHERE app_id = ? AND tag = ? AND user > ? LIMIT ?',
  addByUser: 'INSERT INTO notice_tags_by_user (user, app_id, tag, since_ms) VALUES (?, ?, ?, ?)',
  removeByUser: 'DELETE FROM notice_tags_by_user WHERE user = ? AND app_id = ? AND tag = ?',
  tagsOf: 'SELECT app_id, tag, since_ms FROM notice_tags_by_user WHERE user = ?',
} as const;

/** Values per `IN (...)` when reading which users carry a tag. */
const IN_CHUNK = 100;

export interface CassandraTagStoreOptions {
  /** In-flight requests per call. Default DEFAULT_CONCURRENCY. */
  concurrency?: number;
}

export class CassandraTagStore implements TagStore {
  private readonly concurrency: number;

  constructor(
    private readonly client: Client,
    options: CassandraTagStoreOptions = {},
  ) {
    this.concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  }

  async tag(appId: string, tag: string, users: readonly string[], atMs: number): Promise<number> {
    const carriers = await this.carriers(appId, tag, users);
    let added = 0;
    await forEachLimit(new Set(users.filter((user) => !carriers.has(user))), this.concurrency, async (user) => {
      const result = await executeAgainOnTimeout(this.client, CQL.tag, [appId, tag, user, long(atMs)]);
      // Not applied: tagged meanwhile, and its row (with the first since_ms) came back with the answer.
      const since = result.wasApplied() ? atMs : toNumber(result.first()?.get('since_ms'));
      if (result.wasApplied()) added++;
      await this.client.execute(CQL.addByUser, [user, appId, tag, long(since)]);
    });
    return added;
  }

  async untag(appId: string, tag: string, users: readonly string[]): Promise<number> {
    let removed = 0;
    await forEachLimit(await this.carriers(appId, tag, users), this.concurrency, async (user) => {
      if ((await executeAgainOnTimeout(this.client, CQL.untag, [appId, tag, user])).wasApplied()) removed++;
      await this.client.execute(CQL.removeByUser, [user, appId, tag]);
    });
    return removed;
  }

  async tagsOf(user: string): Promise<UserTag[]> {
    const tags: UserTag[] = [];
    for await (const row of await this.client.execute(CQL.tagsOf, [user]))
      tags.push({
        appId: row.get('app_id') as string,
        tag: row.get('tag') as string,
        sinceMs: toNumber(row.get('since_ms')),
      });
    // Clustered by (app_id, tag) in UTF-8 byte order, which is JS order for the ASCII the port promises.
    return tags;
  }

  async count(appId: string, tag: string): Promise<number> {
    return toNumber((await this.client.execute(CQL.count, [appId, tag])).first()?.get('n'));
  }

  async usersOf(
    appId: string,
    tag: string,
    { after, limit }: { after: string; limit: number },
  ): Promise<{ items: string[]; next?: string }> {
    // Clustered by user in UTF-8 byte order, JS order for ASCII ids; one row more than asked tells whether more follow.
    const users = (await this.client.execute(CQL.usersOf, [appId, tag, after, limit + 1])).rows.map(
      (row) => row.get('user') as string,
    );
    const items = users.slice(0, limit);
    return users.length > limit ? { items, next: items.at(-1)! } : { items };
  }

  /** Which of `users` carry the tag now. */
  private async carriers(appId: string, tag: string, users: readonly string[]): Promise<Set<string>> {
    const unique = [...new Set(users)];
    const chunks = Array.from({ length: Math.ceil(unique.length / IN_CHUNK) }, (_, i) =>
      unique.slice(i * IN_CHUNK, (i + 1) * IN_CHUNK),
    );
    const carriers = new Set<string>();
    await forEachLimit(chunks, this.concurrency, async (chunk) => {
      for (const row of (await this.client.execute(CQL.carriers, [appId, tag, chunk])).rows)
        carriers.add(row.get('user') as string);
    });
    return carriers;
  }
}
