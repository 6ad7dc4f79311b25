import type { Group, GroupStore } from './group-store.ts';

export class MemoryGroupStore implements GroupStore {
  private readonly groups = new Map<string, { group: Group; members: Set<string> }>();

  create(group: Group, members: readonly string[]): Promise<void> {
    if (this.groups.has(group.id)) return Promise.reject(new Error(`group ${group.id} exists`));
    this.groups.set(group.id, { group, members: new Set(members) });
    return Promise.resolve();
  }

  get(groupId: string): Promise<Group | undefined> {
    return Promise.resolve(this.groups.get(groupId)?.group);
  }

  addMembers(groupId: string, users: readonly string[]): Promise<number> {
    const entry = this.entry(groupId);
    for (const u of users) entry.members.add(u);
    return Promise.resolve(entry.members.size);
  }

  removeMembers(groupId: string, users: readonly string[]): Promise<number> {
    const entry = this.entry(groupId);
    for (const u of users) entry.members.delete(u);
    return Promise.resolve(entry.members.size);
  }

  members(groupId: string): Promise<string[]> {
    return Promise.resolve([...(this.groups.get(groupId)?.members ?? [])].sort());
  }

  isMember(groupId: string, user: string): Promise<boolean> {
    return Promise.resolve(this.groups.get(groupId)?.members.has(user) ?? false);
  }

  private entry(groupId: string) {
    const entry = this.groups.get(groupId);
    if (!entry) throw new Error(`group ${groupId} does not exist`);
    return entry;
  }
}
