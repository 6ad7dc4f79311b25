export interface Group {
  id: string;
  name: string;
  owner: string;
  createdAtMs: number;
}

/**
 * Groups and their members (port).
 *
 * - `create` fails if the id exists (ids are fresh ULIDs, so that means a bug).
 * - `addMembers`/`removeMembers` are idempotent set operations and return the member count after the change.
 * - `members` is sorted.
 */
export interface GroupStore {
  create(group: Group, members: readonly string[]): Promise<void>;
  get(groupId: string): Promise<Group | undefined>;
  addMembers(groupId: string, users: readonly string[]): Promise<number>;
  removeMembers(groupId: string, users: readonly string[]): Promise<number>;
  members(groupId: string): Promise<string[]>;
  isMember(groupId: string, user: string): Promise<boolean>;
}
