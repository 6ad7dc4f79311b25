import { asPromise, type Sqlite } from '../lib/sqlite.ts';
import type { Group, GroupRole, GroupStore, Member, Page, PageRequest } from './group-store.ts';
import { groupCommit, type GroupCommit } from '../lib/group-commit.ts';

/**
 * Tables:
 * - logic_groups (id) → name, owner, created_at_ms, dissolved_at_ms (null while active)
 * - logic_group_members (group_id, user_id) → role ('admin' | 'member'; the owner's row keeps whatever it had,
 *   logic_groups.owner decides), and the index logic_group_members_by_user (user_id, group_id), which is the
 *   per-user index: written in the same statement as the member row, so it is never out of step.
 * TEXT compares as bytes (BINARY collation), the order the port promises for ASCII ids.
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS logic_groups (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  owner TEXT NOT NULL,
  created_at_ms INTEGER NOT NULL,
  dissolved_at_ms INTEGER
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS logic_group_members (
  group_id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  role TEXT NOT NULL CHECK (role IN ('admin', 'member')),
  PRIMARY KEY (group_id, user_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS logic_group_members_by_user ON logic_group_members (user_id, group_id);
`;

interface GroupRow {
  id: string;
  name: string;
  owner: string;
  created_at_ms: number;
  dissolved_at_ms: number | null;
}

type StoredRole = 'admin' | 'member';

function prepare(db: Sqlite) {
  db.exec(SCHEMA);
  const members = 'FROM logic_group_members WHERE group_id = ?';
  return {
    insertGroup: db.prepare<[string, string, string, number, number | null]>(
      'INSERT INTO logic_groups (id, name, owner, created_at_ms, dissolved_at_ms) VALUES (?, ?, ?, ?, ?)',
    ),
    group: db.prepare<[string], GroupRow>('SELECT * FROM logic_groups WHERE id = ?'),
    addMember: db.prepare<[string, string]>(
      "INSERT INTO logic_group_members (group_id, user_id, role) VALUES (?, ?, 'member') ON CONFLICT DO NOTHING",
    ),
    removeMember: db.prepare<[string, string]>('DELETE FROM logic_group_members WHERE group_id = ? AND user_id = ?'),
    removeAll: db.prepare<[string]>(`DELETE ${members}`),
    members: db.prepare<[string], string>(`SELECT user_id ${members} ORDER BY user_id`).pluck(),
    count: db.prepare<[string], number>(`SELECT COUNT(*) ${members}`).pluck(),
    role: db.prepare<[string, string], StoredRole>(`SELECT role ${members} AND user_id = ?`).pluck(),
    listMembers: db.prepare<[string, string, number], { user_id: string; role: StoredRole }>(
      `SELECT user_id, role ${members} AND user_id > ? ORDER BY user_id LIMIT ?`,
    ),
    setRole: db.prepare<[StoredRole, string, string]>(
      'UPDATE logic_group_members SET role = ? WHERE group_id = ? AND user_id = ?',
    ),
    setOwner: db.prepare<[string, string, string]>(
      'UPDATE logic_groups SET owner = ? WHERE id = ? AND owner = ? AND dissolved_at_ms IS NULL',
    ),
    dissolve: db.prepare<[number, string]>(
      'UPDATE logic_groups SET dissolved_at_ms = coalesce(dissolved_at_ms, ?) WHERE id = ?',
    ),
    groupIdsOf: db
      .prepare<[string, string, number], string>(
        'SELECT group_id FROM logic_group_members WHERE user_id = ? AND group_id > ? ORDER BY group_id LIMIT ?',
      )
      .pluck(),
    groupsOf: db.prepare<[string, string, number], GroupRow & { role: StoredRole }>(
      `SELECT g.*, m.role FROM logic_group_members m JOIN logic_groups g ON g.id = m.group_id
       WHERE m.user_id = ? AND m.group_id > ? AND g.dissolved_at_ms IS NULL ORDER BY m.group_id LIMIT ?`,
    ),
  };
}

type Statements = ReturnType<typeof prepare>;

/** The methods that write several rows, each one transaction. */
function transactions(db: Sqlite, sql: Statements) {
  return {
    create: db.transaction((group: Group, users: readonly string[]) => {
      if (sql.group.get(group.id)) throw new Error(`group ${group.id} exists`);
      sql.insertGroup.run(group.id, group.name, group.owner, group.createdAtMs, group.dissolvedAtMs ?? null);
      for (const user of users) sql.addMember.run(group.id, user);
    }),
    add: db.transaction((groupId: string, users: readonly string[]) => {
      existing(sql, groupId);
      for (const user of users) sql.addMember.run(groupId, user);
      return sql.count.get(groupId)!;
    }),
    remove: db.transaction((groupId: string, users: readonly string[]) => {
      existing(sql, groupId);
      for (const user of users) sql.removeMember.run(groupId, user);
      return sql.count.get(groupId)!;
    }),
    transfer: db.transaction((groupId: string, from: string, to: string) => {
      existing(sql, groupId);
      if (sql.setOwner.run(to, groupId, from).changes === 0) return false;
      sql.setRole.run('admin', groupId, from);
      return true;
    }),
    dissolve: db.transaction((groupId: string, atMs: number) => {
      existing(sql, groupId);
      sql.dissolve.run(atMs, groupId);
      sql.removeAll.run(groupId);
    }),
  };
}

/**
 * Groups in the embedded mode's SQLite database. Every method does its work synchronously (one process owns the
 * file), so a read-then-write in one transaction cannot race another call.
 */
export class SqliteGroupStore implements GroupStore {
  private readonly sql: Statements;
  private readonly tx: ReturnType<typeof transactions>;

  private readonly commit: GroupCommit;

  constructor(db: Sqlite) {
    this.commit = groupCommit(db);
    this.sql = prepare(db);
    this.tx = transactions(db, this.sql);
  }

  create(group: Group, members: readonly string[]): Promise<void> {
    return this.commit.write(() => this.tx.create(group, members));
  }

  get(groupId: string): Promise<Group | undefined> {
    return asPromise(() => {
      const row = this.sql.group.get(groupId);
      return row && toGroup(row);
    });
  }

  addMembers(groupId: string, users: readonly string[]): Promise<number> {
    return this.commit.write(() => this.tx.add(groupId, users));
  }

  removeMembers(groupId: string, users: readonly string[]): Promise<number> {
    return this.commit.write(() => this.tx.remove(groupId, users));
  }

  members(groupId: string): Promise<string[]> {
    return asPromise(() => this.sql.members.all(groupId));
  }

  isMember(groupId: string, user: string): Promise<boolean> {
    return asPromise(() => this.sql.role.get(groupId, user) !== undefined);
  }

  count(groupId: string): Promise<number> {
    return asPromise(() => this.sql.count.get(groupId)!);
  }

  roles(groupId: string, users: readonly string[]): Promise<Map<string, GroupRole>> {
    return asPromise(() => {
      const roles = new Map<string, GroupRole>();
      const owner = users.length > 0 ? this.sql.group.get(groupId)?.owner : undefined;
      for (const user of users) {
        const stored = this.sql.role.get(groupId, user);
        if (stored !== undefined) roles.set(user, user === owner ? 'owner' : stored);
      }
      return roles;
    });
  }

  listMembers(groupId: string, { after, limit }: PageRequest): Promise<Page<Member>> {
    return asPromise(() => {
      const { owner } = existing(this.sql, groupId);
      const rows = this.sql.listMembers.all(groupId, after, limit + 1);
      return page(
        rows,
        limit,
        (r) => r.user_id,
        (r) => ({ user: r.user_id, role: r.user_id === owner ? 'owner' : r.role }),
      );
    });
  }

  setRole(groupId: string, user: string, role: 'admin' | 'member'): Promise<boolean> {
    return this.commit.write(() => {
      existing(this.sql, groupId);
      return this.sql.setRole.run(role, groupId, user).changes > 0;
    });
  }

  transferOwnership(groupId: string, from: string, to: string): Promise<boolean> {
    return this.commit.write(() => this.tx.transfer(groupId, from, to));
  }

  dissolve(groupId: string, atMs: number): Promise<void> {
    return this.commit.write(() => this.tx.dissolve(groupId, atMs));
  }

  groupsOf(user: string, { after, limit }: PageRequest): Promise<Page<{ group: Group; role: GroupRole }>> {
    return asPromise(() => {
      const rows = this.sql.groupsOf.all(user, after, limit + 1);
      return page(
        rows,
        limit,
        (r) => r.id,
        (r) => ({ group: toGroup(r), role: r.owner === user ? 'owner' : r.role }),
      );
    });
  }

  groupIdsOf(user: string, { after, limit }: PageRequest): Promise<Page<string>> {
    return asPromise(() => {
      const ids = this.sql.groupIdsOf.all(user, after, limit + 1);
      return page(
        ids,
        limit,
        (id) => id,
        (id) => id,
      );
    });
  }
}

function existing(sql: Statements, groupId: string): GroupRow {
  const row = sql.group.get(groupId);
  if (!row) throw new Error(`group ${groupId} does not exist`);
  return row;
}

function toGroup(row: GroupRow): Group {
  const group: Group = { id: row.id, name: row.name, owner: row.owner, createdAtMs: row.created_at_ms };
  if (row.dissolved_at_ms !== null) group.dissolvedAtMs = row.dissolved_at_ms;
  return group;
}

/** Up to `limit + 1` rows as a page of `limit`: the extra row only says that more follow. */
function page<R, T>(rows: R[], limit: number, key: (row: R) => string, item: (row: R) => T): Page<T> {
  const shown = rows.slice(0, limit);
  const items = shown.map(item);
  return rows.length > limit ? { items, next: key(shown.at(-1)!) } : { items };
}
