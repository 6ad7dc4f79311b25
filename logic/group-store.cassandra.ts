// GroupStore on Cassandra: groups (one row per group), group_members (partition per group, members clustered by
// user id) and user_groups (partition per user: the groups a user is in). Tables in infra/cql/0002_*.cql.
import { DEFAULT_CONCURRENCY, forEachLimit, toNumber, type Client } from '../lib/cassandra.ts';
import type { Group, GroupStore } from './group-store.ts';

const CQL = {
  create: 'INSERT INTO groups (group_id, name, owner, created_at_ms) VALUES (?, ?, ?, ?) IF NOT EXISTS',
  get: 'SELECT group_id, name, owner, created_at_ms FROM groups WHERE group_id = ?',
  addMember: 'INSERT INTO group_members (group_id, user_id) VALUES (?, ?)',
  addUserGroup: 'INSERT INTO user_groups (user_id, group_id) VALUES (?, ?)',
  removeMember: 'DELETE FROM group_members WHERE group_id = ? AND user_id = ?',
  removeUserGroup: 'DELETE FROM user_groups WHERE user_id = ? AND group_id = ?',
  members: 'SELECT user_id FROM group_members WHERE group_id = ?',
  count: 'SELECT COUNT(*) AS n FROM group_members WHERE group_id = ?',
  isMember: 'SELECT user_id FROM group_members WHERE group_id = ? AND user_id = ?',
  groupsOf: 'SELECT group_id FROM user_groups WHERE user_id = ?',
} as const;

const loggedBatch = { prepare: true, logged: true, isIdempotent: true } as const;

export interface CassandraGroupStoreOptions {
  /** In-flight requests per call. Default DEFAULT_CONCURRENCY. */
  concurrency?: number;
  /** Rows per page when listing members or a user's groups. Default 1000. */
  pageSize?: number;
}

export class CassandraGroupStore implements GroupStore {
  private readonly concurrency: number;
  private readonly pageSize: number;

  constructor(
    private readonly client: Client,
    options: CassandraGroupStoreOptions = {},
  ) {
    this.concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
    this.pageSize = options.pageSize ?? 1000;
  }

  async create(group: Group, members: readonly string[]): Promise<void> {
    // LWT: creating a group is rare, and an existing id means a bug we want to hear about.
    const result = await this.client.execute(CQL.create, [group.id, group.name, group.owner, group.createdAtMs]);
    if (!result.wasApplied()) throw new Error(`group ${group.id} exists`);
    await this.link(group.id, members);
  }

  async get(groupId: string): Promise<Group | undefined> {
    const row = (await this.client.execute(CQL.get, [groupId])).first();
    if (!row) return undefined;
    return {
      id: row.get('group_id') as string,
      name: row.get('name') as string,
      owner: row.get('owner') as string,
      createdAtMs: toNumber(row.get('created_at_ms')),
    };
  }

  async addMembers(groupId: string, users: readonly string[]): Promise<number> {
    await this.mustExist(groupId);
    await this.link(groupId, users);
    return this.count(groupId);
  }

  async removeMembers(groupId: string, users: readonly string[]): Promise<number> {
    await this.mustExist(groupId);
    // Logged batch per user: both tables change, or (after a crash) the batchlog finishes the job.
    await forEachLimit(new Set(users), this.concurrency, (user) =>
      this.client.batch(
        [
          { query: CQL.removeMember, params: [groupId, user] },
          { query: CQL.removeUserGroup, params: [user, groupId] },
        ],
        loggedBatch,
      ),
    );
    return this.count(groupId);
  }

  async members(groupId: string): Promise<string[]> {
    const users: string[] = [];
    // Async iteration fetches every page, however large the group.
    for await (const row of await this.client.execute(CQL.members, [groupId], { fetchSize: this.pageSize }))
      users.push(row.get('user_id') as string);
    // The clustering order is UTF-8 byte order; sort as JS does so every adapter agrees.
    return users.sort();
  }

  async isMember(groupId: string, user: string): Promise<boolean> {
    return (await this.client.execute(CQL.isMember, [groupId, user])).rowLength > 0;
  }

  /** The groups a user is in (not part of the port yet), sorted. */
  async groupsOf(user: string): Promise<string[]> {
    const groups: string[] = [];
    for await (const row of await this.client.execute(CQL.groupsOf, [user], { fetchSize: this.pageSize }))
      groups.push(row.get('group_id') as string);
    return groups.sort();
  }

  private async link(groupId: string, users: readonly string[]): Promise<void> {
    await forEachLimit(new Set(users), this.concurrency, (user) =>
      this.client.batch(
        [
          { query: CQL.addMember, params: [groupId, user] },
          { query: CQL.addUserGroup, params: [user, groupId] },
        ],
        loggedBatch,
      ),
    );
  }

  private async count(groupId: string): Promise<number> {
    // Reads the group's one partition: fine for chat-sized groups (thousands of members).
    return toNumber((await this.client.execute(CQL.count, [groupId])).first()?.get('n'));
  }

  private async mustExist(groupId: string): Promise<void> {
    if (!(await this.get(groupId))) throw new Error(`group ${groupId} does not exist`);
  }
}
