import { groupConversation } from '../lib/conversation.ts';
import type { GroupStore } from './group-store.ts';
import { allGroupIdsOf } from './groups-of.ts';

/**
 * Large groups are delivered through gateway-local rooms, named by the group's conversation id. A user's
 * connections belong in the room of every large group the user is in; small groups need no room (their messages
 * go to each member's inbox, with per-member seqs, so each member's frame differs).
 */
export function roomOf(groupId: string): string {
  return groupConversation(groupId);
}

/**
 * What a membership change of a large group means beyond the member rows: whose connections join or leave the
 * room, and who is new to the group (their unread count starts at the timeline's head, not at its history).
 * Best effort: live delivery is an accelerator, sync is the truth.
 */
export type LargeGroupChange = (
  groupId: string,
  change: { join: string[]; leave: string[]; added: string[] },
) => Promise<void>;

/** The rooms of `user`: one per group of theirs with more than `largeAbove` members. */
export async function roomsOf(
  store: GroupStore,
  user: string,
  largeAbove: number,
  count: (groupId: string) => Promise<number> = (id) => store.count(id),
): Promise<string[]> {
  const ids = await allGroupIdsOf(store, user);
  const counts = await Promise.all(ids.map(count));
  return ids.filter((_, i) => counts[i]! > largeAbove).map(roomOf);
}
