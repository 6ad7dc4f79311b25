// GroupStore on Cassandra: groups (one row per group), group_members (partition per group, members clustered by
// user id, with their stored role), user_groups (partition per user: the groups a user is in) and group_sizes
// (the member count, recounted after each change). Tables in infra/cql/0002_*.cql, 0004_group_roles.cql and
// 0006_group_sizes.cql.
//
// The groups row changes only by lightweight transactions (create, transfer of ownership, dissolve), so those are
// serialized. Member rows are plain writes; a role change is `IF EXISTS`, so it never brings back a removed member.
import { DEFAULT_CONCURRENCY, forEachLimit, long, toNumber, type Client } from '../lib/cassandra.ts';
import { batched } from '../lib/coalesce.ts';
import type { Group, GroupRole, GroupStore, Member, Page, PageRequest } from './group-store.ts';

const CQL = {
  create: 'INSERT INTO groups (group_id, name, owner, created_at_ms) VALUES (?, ?, ?, ?) IF NOT EXISTS',
  get: 'SELECT group_id, name, owner, created_at_ms, dissolved_at_ms FROM groups WHERE group_id = ?',
  transfer: 'UPDATE groups SET owner = ? WHERE group_id = ? IF owner = ? AND dissolved_at_ms = null',
  dissolve: 'UPDATE groups SET dissolved_at_ms = ? WHERE group_id = ? IF dissolved_at_ms = null',
  // Writes no role: adding someone who is already a member keeps their role.
  addMember: 'INSERT INTO group_members (group_id, user_id) VALUES (?, ?)',
  addUserGroup: 'INSERT INTO user_groups (user_id, group_id) VALUES (?, ?)',
  removeMember: 'DELETE FROM group_members WHERE group_id = ? AND user_id = ?',
  removeUserGroup: 'DELETE FROM user_groups WHERE user_id = ? AND group_id = ?',
  setRole: 'UPDATE group_members SET role = ? WHERE group_id = ? AND user_id = ? IF EXISTS',
  members: 'SELECT user_id FROM group_members WHERE group_id = ?',
  membersPage: 'SELECT user_id, role FROM group_members WHERE group_id = ? AND user_id > ? LIMIT ?',
  roles: 'SELECT user_id, role FROM group_members WHERE group_id = ? AND user_id IN ?',
  countMembers: 'SELECT COUNT(*) AS n FROM group_members WHERE group_id = ?',
  size: 'SELECT members FROM group_sizes WHERE group_id = ?',
  setSize: 'INSERT INTO group_sizes (group_id, members) VALUES (?, ?) USING TIMESTAMP ?',
  isMember: 'SELECT user_id FROM group_members WHERE group_id = ? AND user_id = ?',
  role: 'SELECT role FROM group_members WHERE group_id = ? AND user_id = ?',
  groupsPage: 'SELECT group_id FROM user_groups WHERE user_id = ? AND group_id > ? LIMIT ?',
  firstGroupsPages: 'SELECT user_id, group_id FROM user_groups WHERE user_id IN ? PER PARTITION LIMIT ?',
} as const;

const loggedBatch = { prepare: true, logged: true, isIdempotent: true } as const;

/** Values per `IN (...)` when reading roles. */
const IN_CHUNK = 100;

export interface CassandraGroupStoreOptions {
  /** In-flight requests per call. Default DEFAULT_CONCURRENCY. */
  concurrency?: number;
  /** Rows per page when listing every member. Default 1000. */
  pageSize?: number;
}

export class CassandraGroupStore implements GroupStore {
  private readonly concurrency: number;
  private readonly pageSize: number;
  /**
   * First pages of the users' group index asked for in one turn, read by one `IN` query: every connect and every
   * GetDiff reads one, and a reconnect storm is thousands of them at once.
   */
  private readonly firstPage: (request: { user: string; limit: number }) => Promise<string[]>;

  constructor(
    private readonly client: Client,
    options: CassandraGroupStoreOptions = {},
  ) {
    this.concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
    this.pageSize = options.pageSize ?? 1000;
    const onePage = ({ user, limit }: { user: string; limit: number }) => this.groupIdsAfter(user, '', limit);
    this.firstPage = batched(
      onePage,
      async (requests) => {
        const limit = requests[0]!.limit;
        if (requests.some((r) => r.limit !== limit)) return Promise.all(requests.map(onePage));
        const users = [...new Set(requests.map((r) => r.user))];
        const byUser = new Map<string, string[]>();
        for (const row of (await this.client.execute(CQL.firstGroupsPages, [users, limit])).rows) {
          const user = row.get('user_id') as string;
          const ids = byUser.get(user);
          if (ids) ids.push(row.get('group_id') as string);
          else byUser.set(user, [row.get('group_id') as string]);
        }
        return requests.map((r) => byUser.get(r.user) ?? []);
      },
      { maxBatch: IN_CHUNK },
    );
  }

  async create(group: Group, members: readonly string[]): Promise<void> {
    // LWT: creating a group is rare, and an existing id means a bug we want to hear about.
    const result = await this.client.execute(CQL.create, [group.id, group.name, group.owner, group.createdAtMs]);
    if (!result.wasApplied()) throw new Error(`group ${group.id} exists`);
    await this.link(group.id, members);
    await this.recount(group.id);
  }

  async get(groupId: string): Promise<Group | undefined> {
    const row = (await this.client.execute(CQL.get, [groupId])).first();
    if (!row) return undefined;
    const dissolved = row.get('dissolved_at_ms') as unknown;
    return {
      id: row.get('group_id') as string,
      name: row.get('name') as string,
      owner: row.get('owner') as string,
      createdAtMs: toNumber(row.get('created_at_ms')),
      ...(dissolved === null || dissolved === undefined ? {} : { dissolvedAtMs: toNumber(dissolved) }),
    };
  }

  async addMembers(groupId: string, users: readonly string[]): Promise<number> {
    await this.mustExist(groupId);
    await this.link(groupId, users);
    return this.recount(groupId);
  }

  async removeMembers(groupId: string, users: readonly string[]): Promise<number> {
    await this.mustExist(groupId);
    await this.unlink(groupId, users);
    return this.recount(groupId);
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

  async roles(groupId: string, users: readonly string[]): Promise<Map<string, GroupRole>> {
    const roles = new Map<string, GroupRole>();
    const unique = [...new Set(users)];
    if (unique.length === 0) return roles;
    const group = await this.get(groupId);
    if (!group) return roles;
    const chunks = Array.from({ length: Math.ceil(unique.length / IN_CHUNK) }, (_, i) =>
      unique.slice(i * IN_CHUNK, (i + 1) * IN_CHUNK),
    );
    await forEachLimit(chunks, this.concurrency, async (chunk) => {
      for (const row of (await this.client.execute(CQL.roles, [groupId, chunk])).rows) {
        const user = row.get('user_id') as string;
        roles.set(user, roleOf(group, user, row.get('role')));
      }
    });
    return roles;
  }

  async listMembers(groupId: string, { after, limit }: PageRequest): Promise<Page<Member>> {
    const group = await this.get(groupId);
    if (!group) throw new Error(`group ${groupId} does not exist`);
    // One row more than asked tells whether another page follows.
    const rows = (await this.client.execute(CQL.membersPage, [groupId, after, limit + 1])).rows;
    const items = rows.slice(0, limit).map((row) => {
      const user = row.get('user_id') as string;
      return { user, role: roleOf(group, user, row.get('role')) };
    });
    return rows.length > limit ? { items, next: items.at(-1)!.user } : { items };
  }

  async setRole(groupId: string, user: string, role: 'admin' | 'member'): Promise<boolean> {
    await this.mustExist(groupId);
    return (await this.client.execute(CQL.setRole, [role, groupId, user])).wasApplied();
  }

  async transferOwnership(groupId: string, from: string, to: string): Promise<boolean> {
    await this.mustExist(groupId);
    if (!(await this.client.execute(CQL.transfer, [to, groupId, from])).wasApplied()) return false;
    // The previous owner stays on as an admin. Were this lost to a crash, they would be a plain member: safe.
    await this.client.execute(CQL.setRole, ['admin', groupId, from]);
    return true;
  }

  async dissolve(groupId: string, atMs: number): Promise<void> {
    // The existence check matters: `IF dissolved_at_ms = null` would also hold for a row that is not there.
    await this.mustExist(groupId);
    // Not applied when already dissolved: the first timestamp stays, and the members are removed (again) below.
    await this.client.execute(CQL.dissolve, [atMs, groupId]);
    await this.unlink(groupId, await this.members(groupId));
    await this.recount(groupId);
  }

  async groupsOf(user: string, page: PageRequest): Promise<Page<{ group: Group; role: GroupRole }>> {
    const { items: shown, next } = await this.groupIdsOf(user, page);
    const found = new Array<{ group: Group; role: GroupRole } | undefined>(shown.length);
    await forEachLimit(shown.keys(), this.concurrency, async (i) => {
      const id = shown[i]!;
      const [group, member] = await Promise.all([this.get(id), this.client.execute(CQL.role, [id, user])]);
      const row = member.first();
      // A reverse-index row without its group or member row is what an interrupted change leaves: skip it.
      if (group && group.dissolvedAtMs === undefined && row)
        found[i] = { group, role: roleOf(group, user, row.get('role')) };
    });
    const items = found.filter((g) => g !== undefined);
    return next === undefined ? { items } : { items, next };
  }

  async groupIdsOf(user: string, { after, limit }: PageRequest): Promise<Page<string>> {
    const ids =
      after === ''
        ? await this.firstPage({ user, limit: limit + 1 })
        : await this.groupIdsAfter(user, after, limit + 1);
    return ids.length > limit ? { items: ids.slice(0, limit), next: ids[limit - 1]! } : { items: ids };
  }

  private async groupIdsAfter(user: string, after: string, limit: number): Promise<string[]> {
    const rows = (await this.client.execute(CQL.groupsPage, [user, after, limit])).rows;
    return rows.map((row) => row.get('group_id') as string);
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

  private async unlink(groupId: string, users: readonly string[]): Promise<void> {
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
  }

  async count(groupId: string): Promise<number> {
    const row = (await this.client.execute(CQL.size, [groupId])).first();
    // No row: a group from before group_sizes existed (or an unknown group, which counts 0).
    return row ? toNumber(row.get('members')) : this.recount(groupId);
  }

  /** Counts the members (one partition) and stores the count, timestamped when counting began. */
  private async recount(groupId: string): Promise<number> {
    const startedUs = long(Date.now() * 1000);
    const n = toNumber((await this.client.execute(CQL.countMembers, [groupId])).first()?.get('n'));
    if (n > 0 || (await this.get(groupId))) {
      await this.client.execute(CQL.setSize, [groupId, n, startedUs]);
    }
    return n;
  }

  private async mustExist(groupId: string): Promise<void> {
    if (!(await this.get(groupId))) throw new Error(`group ${groupId} does not exist`);
  }
}

function roleOf(group: Group, user: string, stored: unknown): GroupRole {
  if (group.owner === user) return 'owner';
  return stored === 'admin' ? 'admin' : 'member';
}
