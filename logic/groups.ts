import type { GroupInfo, GroupMembers } from '../proto/gen/im/v1/client.pb.ts';
import type { ChangeMembersRequest, CreateGroupRequest, ListMembersRequest } from '../proto/gen/im/v1/services.pb.ts';
import { assertId } from '../lib/conversation.ts';
import { ImError } from '../lib/errors.ts';
import { newGroupId } from '../lib/ids.ts';
import type { Group, GroupStore } from './group-store.ts';

export interface GroupLimits {
  /** Groups up to this size use write fan-out (one inbox entry per member). */
  maxMembers: number;
  maxNameChars: number;
}

/** Group management: who may change a group, and what a group may look like. */
export class Groups {
  constructor(
    private readonly store: GroupStore,
    private readonly limits: GroupLimits,
    private readonly now: () => number = Date.now,
  ) {}

  async create({ actor, name, members }: CreateGroupRequest): Promise<GroupInfo> {
    if (name.length > this.limits.maxNameChars) {
      throw new ImError('INVALID_ARGUMENT', `group name is longer than ${this.limits.maxNameChars} characters`);
    }
    const all = uniqueIds([actor, ...members]);
    this.checkSize(all.length);
    const group: Group = { id: newGroupId(), name, owner: actor, createdAtMs: this.now() };
    await this.store.create(group, all);
    return info(group, all.length);
  }

  async addMembers({ actor, groupId, members }: ChangeMembersRequest): Promise<GroupInfo> {
    const group = await this.requireMember(groupId, actor);
    const adding = uniqueIds(members);
    const current = await this.store.members(groupId);
    this.checkSize(new Set([...current, ...adding]).size);
    return info(group, await this.store.addMembers(groupId, adding));
  }

  /** The owner removes anyone but themselves; any member may remove themselves (leave). */
  async removeMembers({ actor, groupId, members }: ChangeMembersRequest): Promise<GroupInfo> {
    const group = await this.requireMember(groupId, actor);
    const removing = uniqueIds(members);
    if (removing.includes(group.owner)) throw new ImError('FORBIDDEN', 'the owner cannot be removed from the group');
    if (actor !== group.owner && removing.some((m) => m !== actor)) {
      throw new ImError('FORBIDDEN', 'only the group owner removes other members');
    }
    return info(group, await this.store.removeMembers(groupId, removing));
  }

  async listMembers({ actor, groupId }: ListMembersRequest): Promise<GroupMembers> {
    await this.requireMember(groupId, actor);
    return { groupId, members: await this.store.members(groupId) };
  }

  /** The group, if `user` may act in it; NOT_FOUND for unknown groups, NOT_MEMBER otherwise. */
  async requireMember(groupId: string, user: string): Promise<Group> {
    const group = await this.store.get(groupId);
    if (!group) throw new ImError('NOT_FOUND', `no group ${JSON.stringify(groupId)}`);
    if (!(await this.store.isMember(groupId, user)))
      throw new ImError('NOT_MEMBER', `not a member of group ${groupId}`);
    return group;
  }

  members(groupId: string): Promise<string[]> {
    return this.store.members(groupId);
  }

  private checkSize(count: number): void {
    if (count > this.limits.maxMembers) {
      throw new ImError(
        'INVALID_ARGUMENT',
        `a group holds at most ${this.limits.maxMembers} members (would be ${count})`,
      );
    }
  }
}

function uniqueIds(ids: readonly string[]): string[] {
  return [...new Set(ids)].map((id) => assertId('user', id));
}

function info(group: Group, memberCount: number): GroupInfo {
  return { groupId: group.id, name: group.name, owner: group.owner, memberCount };
}
