import type { Group, GroupRole, GroupStore, Member, Page, PageRequest } from './group-store.ts';

interface Entry {
  group: Group;
  /** Member → stored role; the owner's entry is whatever it was, `group.owner` decides. */
  members: Map<string, 'admin' | 'member'>;
}

export class MemoryGroupStore implements GroupStore {
  private readonly groups = new Map<string, Entry>();
  /** Reverse index: user → the groups they are in. */
  private readonly byUser = new Map<string, Set<string>>();

  create(group: Group, members: readonly string[]): Promise<void> {
    if (this.groups.has(group.id)) return Promise.reject(new Error(`group ${group.id} exists`));
    this.groups.set(group.id, { group: { ...group }, members: new Map() });
    this.link(group.id, members);
    return Promise.resolve();
  }

  get(groupId: string): Promise<Group | undefined> {
    const group = this.groups.get(groupId)?.group;
    return Promise.resolve(group && { ...group });
  }

  addMembers(groupId: string, users: readonly string[]): Promise<number> {
    return this.run(() => {
      this.link(groupId, users);
      return this.entry(groupId).members.size;
    });
  }

  removeMembers(groupId: string, users: readonly string[]): Promise<number> {
    return this.run(() => {
      this.unlink(groupId, users);
      return this.entry(groupId).members.size;
    });
  }

  members(groupId: string): Promise<string[]> {
    return Promise.resolve([...(this.groups.get(groupId)?.members.keys() ?? [])].sort());
  }

  isMember(groupId: string, user: string): Promise<boolean> {
    return Promise.resolve(this.groups.get(groupId)?.members.has(user) ?? false);
  }

  count(groupId: string): Promise<number> {
    return Promise.resolve(this.groups.get(groupId)?.members.size ?? 0);
  }

  roles(groupId: string, users: readonly string[]): Promise<Map<string, GroupRole>> {
    const entry = this.groups.get(groupId);
    const roles = new Map<string, GroupRole>();
    for (const user of users) {
      const role = entry && roleOf(entry, user);
      if (role) roles.set(user, role);
    }
    return Promise.resolve(roles);
  }

  listMembers(groupId: string, { after, limit }: PageRequest): Promise<Page<Member>> {
    return this.run(() => {
      const entry = this.entry(groupId);
      const users = [...entry.members.keys()].filter((u) => u > after).sort();
      return page(users, limit, (user) => ({ user, role: roleOf(entry, user)! }));
    });
  }

  setRole(groupId: string, user: string, role: 'admin' | 'member'): Promise<boolean> {
    return this.run(() => {
      const members = this.entry(groupId).members;
      if (!members.has(user)) return false;
      members.set(user, role);
      return true;
    });
  }

  transferOwnership(groupId: string, from: string, to: string): Promise<boolean> {
    return this.run(() => {
      const entry = this.entry(groupId);
      if (entry.group.owner !== from || entry.group.dissolvedAtMs !== undefined) return false;
      entry.group.owner = to;
      if (entry.members.has(from)) entry.members.set(from, 'admin');
      return true;
    });
  }

  dissolve(groupId: string, atMs: number): Promise<void> {
    return this.run(() => {
      const entry = this.entry(groupId);
      entry.group.dissolvedAtMs ??= atMs;
      this.unlink(groupId, [...entry.members.keys()]);
    });
  }

  groupsOf(user: string, { after, limit }: PageRequest): Promise<Page<{ group: Group; role: GroupRole }>> {
    const ids = [...(this.byUser.get(user) ?? [])].filter((id) => id > after).sort();
    return Promise.resolve(
      page(ids, limit, (id) => {
        const entry = this.groups.get(id)!;
        return { group: { ...entry.group }, role: roleOf(entry, user)! };
      }),
    );
  }

  groupIdsOf(user: string, { after, limit }: PageRequest): Promise<Page<string>> {
    const ids = [...(this.byUser.get(user) ?? [])].filter((id) => id > after).sort();
    return Promise.resolve(page(ids, limit, (id) => id));
  }

  private link(groupId: string, users: readonly string[]): void {
    const members = this.entry(groupId).members;
    for (const u of users) {
      if (!members.has(u)) members.set(u, 'member');
      let groups = this.byUser.get(u);
      if (!groups) this.byUser.set(u, (groups = new Set()));
      groups.add(groupId);
    }
  }

  private unlink(groupId: string, users: readonly string[]): void {
    const members = this.entry(groupId).members;
    for (const u of users) {
      members.delete(u);
      const groups = this.byUser.get(u);
      groups?.delete(groupId);
      if (groups?.size === 0) this.byUser.delete(u);
    }
  }

  private entry(groupId: string): Entry {
    const entry = this.groups.get(groupId);
    if (!entry) throw new Error(`group ${groupId} does not exist`);
    return entry;
  }

  /** Runs a synchronous body as the port's async call: a throw becomes a rejection. */
  private run<T>(body: () => T): Promise<T> {
    try {
      return Promise.resolve(body());
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }
}

function roleOf(entry: Entry, user: string): GroupRole | undefined {
  const stored = entry.members.get(user);
  if (stored === undefined) return undefined;
  return entry.group.owner === user ? 'owner' : stored;
}

/** The first `limit` of the sorted `keys` as a page; `next` is the last key shown when more follow. */
function page<T>(keys: string[], limit: number, item: (key: string) => T): Page<T> {
  const items = keys.slice(0, limit).map(item);
  return keys.length > limit ? { items, next: keys[limit - 1]! } : { items };
}
