import {
  GroupRole as ProtoRole,
  type GroupInfo,
  type GroupList,
  type GroupMembers,
} from '../proto/gen/im/v1/client.pb.ts';
import type {
  ChangeMembersRequest,
  CreateGroupRequest,
  GroupActionRequest,
  ListGroupsRequest,
  ListMembersRequest,
  SetMemberRoleRequest,
} from '../proto/gen/im/v1/services.pb.ts';
import { assertId } from '../lib/conversation.ts';
import { echo } from '../lib/echo.ts';
import { ImError } from '../lib/errors.ts';
import { newGroupId } from '../lib/ids.ts';
import type { Group, GroupRole, GroupStore } from './group-store.ts';
import { checkGroupName } from './group-name.ts';
import { GroupSizes } from './group-sizes.ts';
import { roomsOf, type LargeGroupChange } from './rooms.ts';

export interface GroupLimits {
  maxMembers: number;
  /** Groups with more members than this are large: read fan-out, delivered through rooms. Default: never. */
  largeAbove?: number;
  /** In code points (see group-name.ts), after trimming. */
  maxNameChars: number;
  /** Members or groups per page when the request says 0. Default 100. */
  pageDefault?: number;
  /** The most a page holds, whatever the request says. Default 500. */
  pageMax?: number;
}

const ROLE_TO_PROTO: Record<GroupRole, ProtoRole> = {
  owner: ProtoRole.GROUP_ROLE_OWNER,
  admin: ProtoRole.GROUP_ROLE_ADMIN,
  member: ProtoRole.GROUP_ROLE_MEMBER,
};

/**
 * Group management: who may change a group, and what a group may look like.
 *
 * Roles: one owner (the creator, until they transfer ownership), admins, members.
 * - The owner or an admin adds members. The owner removes anyone but themselves; an admin removes plain members
 *   only (never the owner or another admin); a member can remove nobody but themselves.
 * - The owner alone sets roles: makes a member an admin, an admin a member again, or another member the owner
 *   (transfer), after which the previous owner is an admin.
 * - Anyone may leave, except the owner: leaving as owner is refused (FORBIDDEN) with a message saying to transfer
 *   ownership or dissolve first. We chose this over "the group dissolves when its owner leaves", because leaving
 *   is something every member does casually, and it should never end the group for everyone else by surprise.
 * - The owner alone dissolves the group: every member is removed, and from then on sends, member lists and
 *   changes are refused with GROUP_DISSOLVED. Messages already delivered stay in everyone's inbox.
 * Removing a member takes effect for the next send: a small group's fan-out reads the member list at send time,
 * and a large group's room loses the member's connections at once; a removed member gets nothing new, and keeps
 * what they already had.
 */
export class Groups {
  private readonly pageDefault: number;
  private readonly pageMax: number;
  private readonly largeAbove: number;
  private readonly sizes: GroupSizes;

  constructor(
    private readonly store: GroupStore,
    private readonly limits: GroupLimits,
    private readonly now: () => number = Date.now,
    private readonly largeGroupChanged: LargeGroupChange = () => Promise.resolve(),
  ) {
    this.largeAbove = limits.largeAbove ?? Infinity;
    this.sizes = new GroupSizes(store);
    this.pageMax = limits.pageMax ?? 500;
    this.pageDefault = Math.min(limits.pageDefault ?? 100, this.pageMax);
  }

  async create({ actor, name: asked, members }: CreateGroupRequest): Promise<GroupInfo> {
    const name = checkGroupName(asked, this.limits.maxNameChars);
    const all = uniqueIds([actor, ...members]);
    this.checkSize(all.length);
    const group: Group = { id: newGroupId(), name, owner: actor, createdAtMs: this.now() };
    await this.store.create(group, all);
    this.sizes.changed(group.id, all.length);
    if (all.length > this.largeAbove) await this.largeGroupChanged(group.id, { join: all, leave: [], added: [] });
    return info(group, all.length, 'owner');
  }

  /** The owner or an admin adds members; adding someone who is already in changes nothing (their role stays). */
  async addMembers({ actor, groupId, members }: ChangeMembersRequest): Promise<GroupInfo> {
    const { group, role } = await this.requireRole(groupId, actor);
    if (role === 'member') throw new ImError('FORBIDDEN', 'only the group owner and admins add members');
    const adding = uniqueIds(members);
    const current = await this.store.members(groupId);
    this.checkSize(new Set([...current, ...adding]).size);
    const count = await this.store.addMembers(groupId, adding);
    this.sizes.changed(groupId, count);
    if (count > this.largeAbove) {
      // Crossing the threshold puts everyone in the room; otherwise only the newcomers join.
      const joining = current.length > this.largeAbove ? adding : await this.store.members(groupId);
      const before = new Set(current);
      const added = adding.filter((u) => !before.has(u));
      await this.largeGroupChanged(groupId, { join: joining, leave: [], added });
    }
    return info(group, count, role);
  }

  /** See the class comment for who may remove whom; naming only yourself is leaving. */
  async removeMembers({ actor, groupId, members }: ChangeMembersRequest): Promise<GroupInfo> {
    const { group, role } = await this.requireRole(groupId, actor);
    const removing = uniqueIds(members);
    const leaving = removing.includes(actor);
    if (leaving && role === 'owner') throw ownerCannotLeave(groupId);
    const others = removing.filter((u) => u !== actor);
    if (others.includes(group.owner)) throw new ImError('FORBIDDEN', 'the owner cannot be removed from the group');
    if (others.length > 0 && role === 'member') {
      throw new ImError('FORBIDDEN', 'only the group owner and admins remove other members');
    }
    if (others.length > 0 && role === 'admin') {
      const roles = await this.store.roles(groupId, others);
      const admin = others.find((u) => roles.get(u) === 'admin');
      if (admin !== undefined) throw new ImError('FORBIDDEN', `only the group owner removes admins (${admin} is one)`);
    }
    const count = await this.removeAndLeaveRoom(groupId, removing);
    return info(group, count, leaving ? undefined : role);
  }

  /** Any member but the owner leaves (the owner transfers ownership or dissolves the group first). */
  async leave({ actor, groupId }: GroupActionRequest): Promise<GroupInfo> {
    const { group, role } = await this.requireRole(groupId, actor);
    if (role === 'owner') throw ownerCannotLeave(groupId);
    return info(group, await this.removeAndLeaveRoom(groupId, [actor]), undefined);
  }

  /** The owner dissolves the group. Asking again finishes a dissolve that was interrupted. */
  async dissolve({ actor, groupId }: GroupActionRequest): Promise<GroupInfo> {
    const found = await this.store.get(groupId);
    if (found?.dissolvedAtMs !== undefined && found.owner === actor) {
      await this.store.dissolve(groupId, found.dissolvedAtMs);
      this.sizes.changed(groupId, 0);
      return info(found, 0, undefined);
    }
    const { group, role } = await this.requireRole(groupId, actor);
    if (role !== 'owner') throw new ImError('FORBIDDEN', 'only the group owner dissolves the group');
    const at = this.now();
    const members = (await this.store.count(groupId)) > this.largeAbove ? await this.store.members(groupId) : [];
    await this.store.dissolve(groupId, at);
    this.sizes.changed(groupId, 0);
    if (members.length > 0) await this.largeGroupChanged(groupId, { join: [], leave: members, added: [] });
    return info({ ...group, dissolvedAtMs: at }, 0, undefined);
  }

  /** The owner promotes, demotes or hands over ownership (role OWNER). Answers with the caller's new role. */
  async setRole({ actor, groupId, user, role: wanted }: SetMemberRoleRequest): Promise<GroupInfo> {
    const { group, role } = await this.requireRole(groupId, actor);
    if (role !== 'owner') throw new ImError('FORBIDDEN', 'only the group owner changes roles');
    assertId('user', user);
    const target = (await this.store.roles(groupId, [user])).get(user);
    if (!target) throw new ImError('NOT_MEMBER', `${user} is not a member of group ${groupId}`);
    switch (wanted) {
      case ProtoRole.GROUP_ROLE_OWNER: {
        if (user === actor) return info(group, await this.store.count(groupId), 'owner');
        if (!(await this.store.transferOwnership(groupId, actor, user))) {
          throw new ImError('FORBIDDEN', `${actor} is no longer the owner of group ${groupId}`);
        }
        return info({ ...group, owner: user }, await this.store.count(groupId), 'admin');
      }
      case ProtoRole.GROUP_ROLE_ADMIN:
      case ProtoRole.GROUP_ROLE_MEMBER: {
        if (user === group.owner) {
          throw new ImError('FORBIDDEN', 'the owner stops being the owner only by giving the role OWNER to a member');
        }
        const stored = wanted === ProtoRole.GROUP_ROLE_ADMIN ? 'admin' : 'member';
        if (!(await this.store.setRole(groupId, user, stored))) {
          throw new ImError('NOT_MEMBER', `${user} is not a member of group ${groupId}`);
        }
        return info(group, await this.store.count(groupId), 'owner');
      }
      default:
        throw new ImError('INVALID_ARGUMENT', 'role must be OWNER, ADMIN or MEMBER');
    }
  }

  /** One page of the members with their roles, ordered by user id; any member may ask. */
  async listMembers({ actor, groupId, cursor, limit }: ListMembersRequest): Promise<GroupMembers> {
    await this.requireMember(groupId, actor);
    const page = await this.store.listMembers(groupId, { after: checkCursor(cursor), limit: this.pageSize(limit) });
    return {
      groupId,
      members: page.items.map((m) => m.user),
      entries: page.items.map((m) => ({ user: m.user, role: ROLE_TO_PROTO[m.role] })),
      nextCursor: page.next ?? '',
    };
  }

  /** One page of the active groups the actor is in, ordered by group id (creation time). */
  async listGroups({ actor, cursor, limit }: ListGroupsRequest): Promise<GroupList> {
    const page = await this.store.groupsOf(actor, { after: checkCursor(cursor), limit: this.pageSize(limit) });
    return {
      groups: page.items.map(({ group, role }) => ({
        groupId: group.id,
        name: group.name,
        owner: group.owner,
        role: ROLE_TO_PROTO[role],
        createdAtMs: group.createdAtMs,
      })),
      nextCursor: page.next ?? '',
    };
  }

  /**
   * The group, if `user` may act in it (every send checks this): NOT_FOUND for unknown groups, GROUP_DISSOLVED
   * for dissolved ones, NOT_MEMBER for anyone who is not (or no longer) a member.
   */
  async requireMember(groupId: string, user: string): Promise<Group> {
    const group = await this.activeGroup(groupId);
    if (!(await this.store.isMember(groupId, user)))
      throw new ImError('NOT_MEMBER', `not a member of group ${groupId}`);
    return group;
  }

  members(groupId: string): Promise<string[]> {
    return this.store.members(groupId);
  }

  count(groupId: string): Promise<number> {
    return this.store.count(groupId);
  }

  /** The rooms `user`'s connections belong in: their large groups'. */
  roomsOf(user: string): Promise<string[]> {
    if (this.largeAbove === Infinity) return Promise.resolve([]);
    return roomsOf(this.store, user, this.largeAbove, (id) => this.sizes.count(id));
  }

  /** A removed member stops receiving live messages at once: their connections leave the room. */
  private async removeAndLeaveRoom(groupId: string, users: string[]): Promise<number> {
    const count = await this.store.removeMembers(groupId, users);
    this.sizes.changed(groupId, count);
    if (count + users.length > this.largeAbove) {
      await this.largeGroupChanged(groupId, { join: [], leave: users, added: [] });
    }
    return count;
  }

  private async requireRole(groupId: string, user: string): Promise<{ group: Group; role: GroupRole }> {
    const group = await this.activeGroup(groupId);
    const role = (await this.store.roles(groupId, [user])).get(user);
    if (!role) throw new ImError('NOT_MEMBER', `not a member of group ${groupId}`);
    return { group, role };
  }

  private async activeGroup(groupId: string): Promise<Group> {
    const group = await this.store.get(groupId);
    if (!group) throw new ImError('NOT_FOUND', `no group ${echo(groupId)}`);
    if (group.dissolvedAtMs !== undefined) {
      throw new ImError('GROUP_DISSOLVED', `group ${groupId} was dissolved by its owner`);
    }
    return group;
  }

  private pageSize(limit: number): number {
    return limit === 0 ? this.pageDefault : Math.min(limit, this.pageMax);
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

/** Cursors are the last id of the previous page; anything else was not made by this server. */
function checkCursor(cursor: string): string {
  if (cursor === '') return cursor;
  try {
    return assertId('user', cursor);
  } catch {
    throw new ImError('INVALID_ARGUMENT', `cursor ${echo(cursor)} is not one this server returned`);
  }
}

function ownerCannotLeave(groupId: string): ImError {
  return new ImError(
    'FORBIDDEN',
    `the owner cannot leave group ${groupId}: first make another member the owner (role OWNER), or dissolve it`,
  );
}

/** `role` is the caller's role after the operation; undefined once they are no longer a member. */
function info(group: Group, memberCount: number, role: GroupRole | undefined): GroupInfo {
  return {
    groupId: group.id,
    name: group.name,
    owner: group.owner,
    memberCount,
    role: role ? ROLE_TO_PROTO[role] : ProtoRole.GROUP_ROLE_UNSPECIFIED,
    dissolved: group.dissolvedAtMs !== undefined,
  };
}
