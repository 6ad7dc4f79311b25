import type { Message } from '../proto/gen/im/v1/message.pb.ts';

/** A tag an app put on a user, and since when (the notice service's TagStore lists them). */
export interface TagOfUser {
  appId: string;
  tag: string;
  sinceMs: number;
}

/** The tags a user carries (sync asks once per page that reads the system timeline). */
export type TagsOf = (user: string) => Promise<TagOfUser[]>;

/** The stream name entries of the system timeline carry, and the SyncResponse.streams entry for its cursor. */
export const SYSTEM_STREAM_NAME = 'system';

/**
 * Whether an entry of the system timeline is for this user now. The timeline holds notices to everyone and to
 * tags, stored once: each reader sees a notice to everyone, and a tag's notice if they carried the tag (of that
 * app) when it was sent. Gone for everyone: an expired notice, and a cancelled one (its tombstone). The recall
 * entry of a cancelled notice follows the audience of what it takes back, so devices that showed it drop it.
 */
export function visibleTo(entry: Message, tags: readonly TagOfUser[], nowMs: number): boolean {
  const notice = entry.notice;
  if (!notice) return false;
  if (entry.recalled) return false;
  if (!entry.op && notice.expireAtMs > 0 && notice.expireAtMs <= nowMs) return false;
  if (notice.audience === 'all') return true;
  if (!notice.audience.startsWith('tag:')) return false;
  const tag = notice.audience.slice('tag:'.length);
  return tags.some((t) => t.appId === notice.appId && t.tag === tag && t.sinceMs <= entry.sentAtMs);
}

/** Entries a reader counts as unread: visible notices, not the operations on them. */
export function countsAsUnread(entry: Message, tags: readonly TagOfUser[], nowMs: number): boolean {
  return !entry.op && visibleTo(entry, tags, nowMs);
}
