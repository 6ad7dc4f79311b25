/**
 * Unread counts per user and conversation (port), kept the same for every device of a user.
 *
 * - `arrived` counts a message at (user, conversation, inbox seq) as unread unless the user's read marker is at or
 *   past it; adding the same seq twice counts once.
 * - `recalled` stops counting a message (it was taken back).
 * - `markRead` moves the conversation's read marker to max(marker, seq), drops what it covers, and returns the
 *   unread count left (messages above the marker).
 * - `unread` lists the user's conversations that have a marker or unread messages, counting seqs up to
 *   `throughSeq` when given (what a sync page covers).
 * A conversation keeps at most `maxPerConversation` unread entries (the newest); a count at the cap means "at least".
 *
 * Large groups are counted differently, without a write per member per message: their timeline numbers its messages
 * (stream_index), and each member has a timeline read marker by index; unread = the timeline's index - the marker.
 * - `markTimelineRead` moves the marker to max(marker, index) and returns the marker after the change.
 * - `timelineMarks` returns the markers of the conversations asked for, in order (0 if never set).
 */
export interface UnreadStore {
  arrived(entries: readonly UnreadRef[]): Promise<void>;
  recalled(entries: readonly UnreadRef[]): Promise<void>;
  markRead(ref: UnreadRef): Promise<number>;
  unread(user: string, throughSeq?: number): Promise<ConversationUnreadState[]>;
  markTimelineRead(ref: TimelineReadRef): Promise<number>;
  timelineMarks(user: string, conversations: readonly string[]): Promise<number[]>;
}

export interface TimelineReadRef {
  user: string;
  conversation: string;
  index: number;
}

export interface UnreadRef {
  user: string;
  conversation: string;
  seq: number;
}

export interface ConversationUnreadState {
  conversation: string;
  unread: number;
  readSeq: number;
}

export const MAX_UNREAD_PER_CONVERSATION = 1000;
