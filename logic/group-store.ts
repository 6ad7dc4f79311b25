export interface Group {
  id: string;
  name: string;
  owner: string;
  createdAtMs: number;
  /** Set once the owner dissolved the group; absent while it is active. */
  dissolvedAtMs?: number;
}

/**
 * A member's role. The owner is whoever `Group.owner` names (one source of truth, so groups created before roles
 * existed have theirs); every other member is an admin or a plain member, which is the role a new member gets.
 */
export type GroupRole = 'owner' | 'admin' | 'member';

export interface Member {
  user: string;
  role: GroupRole;
}

/** A page of a listing ordered by key (user id or group id). */
export interface Page<T> {
  items: T[];
  /** The key to pass as `after` for the next page; absent when nothing follows. */
  next?: string;
}

export interface PageRequest {
  /** Only keys strictly after this one ('' for the first page). */
  after: string;
  /** At least 1. */
  limit: number;
}

/**
 * Groups and their members (port).
 *
 * - `create` fails if the id exists (ids are fresh ULIDs, so that means a bug).
 * - `addMembers`/`removeMembers` are idempotent set operations and return the member count after the change.
 *   Adding someone who is already a member keeps their role; a removed member's role is forgotten.
 * - `members` is every member, sorted; `listMembers` and `groupsOf` page in the same order (user ids, group ids
 *   sorted as JS sorts; ids are ASCII, so that is also byte order). A page may be shorter than `limit` while more
 *   follow (`groupsOf` leaves out groups that are dissolved or whose member row is gone); `next` says whether.
 * - `setRole` changes a member's stored role (admin or member); it never makes a non-member a member.
 * - `transferOwnership` is a compare-and-set on the owner; the previous owner becomes an admin.
 * - `dissolve` marks the group dissolved (the first time's timestamp stays) and removes every member. Idempotent,
 *   so calling it again finishes a dissolve that was interrupted.
 * - Every method but `create`, `get`, `isMember`, `count`, `roles`, `members`, `groupsOf` and `groupIdsOf` fails for an unknown group.
 */
export interface GroupStore {
  create(group: Group, members: readonly string[]): Promise<void>;
  get(groupId: string): Promise<Group | undefined>;
  addMembers(groupId: string, users: readonly string[]): Promise<number>;
  removeMembers(groupId: string, users: readonly string[]): Promise<number>;
  members(groupId: string): Promise<string[]>;
  isMember(groupId: string, user: string): Promise<boolean>;
  /** How many members the group has (0 for an unknown group). */
  count(groupId: string): Promise<number>;
  /** The roles of those of `users` who are members (others are left out). */
  roles(groupId: string, users: readonly string[]): Promise<Map<string, GroupRole>>;
  listMembers(groupId: string, page: PageRequest): Promise<Page<Member>>;
  /** False when `user` is not a member (nothing changes then). */
  setRole(groupId: string, user: string, role: 'admin' | 'member'): Promise<boolean>;
  /** False (nothing changes) unless `from` is still the owner and the group is not dissolved. */
  transferOwnership(groupId: string, from: string, to: string): Promise<boolean>;
  dissolve(groupId: string, atMs: number): Promise<void>;
  /** The active groups `user` is in, with the user's role in each. */
  groupsOf(user: string, page: PageRequest): Promise<Page<{ group: Group; role: GroupRole }>>;
  /**
   * The ids of the groups `user` is in, from the per-user index alone (one read per page, where `groupsOf` also
   * reads every group and role): what connect and sync need on every call. Only while a membership change is
   * being applied can it name a group `groupsOf` leaves out.
   */
  groupIdsOf(user: string, page: PageRequest): Promise<Page<string>>;
}
