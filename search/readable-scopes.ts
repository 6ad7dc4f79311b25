import { groupConversation } from '../lib/conversation.ts';
import type { ReadableScopes } from './search-index.ts';

/** A tag an app put on a user, and since when (the notice service's TagStore; sync's TagOfUser has the same shape). */
export interface UserTag {
  appId: string;
  tag: string;
  sinceMs: number;
}

/** What the search service reads to decide a user's scopes, from the stores that sync reads the same from. */
export interface ScopeSources {
  /** The ids of the groups the user is in now (GroupStore.groupIdsOf, every page). */
  groupsOf(user: string): Promise<string[]>;
  /** The tags the user carries (TagStore), for notices sent to a tag. */
  tagsOf(user: string): Promise<UserTag[]>;
}

/**
 * A user's scopes, as sync decides what they read (decision 0031):
 * - every group they are in now, its whole timeline: a large group's new member reads its retained history
 *   (decision 0009), and the timeline holds only that group's large-group messages, so granting it for a group that
 *   never went large grants nothing. A member who left reads no timeline any more (sync drops it from their key);
 *   what they got in their inbox while a member stays theirs through `SearchDoc.readers`.
 * - notices to everyone; notices to a tag they carry, sent since they carried it (sync/system-timeline.ts).
 * Spans narrower than a whole timeline are what a membership history would grant; none is kept yet.
 */
export async function readableScopes(user: string, sources: ScopeSources): Promise<ReadableScopes> {
  const [groups, tags] = await Promise.all([sources.groupsOf(user), sources.tagsOf(user)]);
  return {
    timelines: groups.map((id) => ({ conversation: groupConversation(id), spans: [{}] })),
    noticesToAll: true,
    noticeTags: tags.map(({ appId, tag, sinceMs }) => ({ appId, tag, sinceMs })),
  };
}
