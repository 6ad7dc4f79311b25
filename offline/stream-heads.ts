/**
 * The last entry written to each shared stream (port): its seq lets sync skip a large group's timeline that has
 * nothing past the client's cursor without reading it, so quiet groups cost one lookup among many, not a read
 * each; its index (messages in the stream so far) is what large groups' unread counts are computed from.
 *
 * - `advance` moves a stream's head to the entry with the highest seq; it never moves back.
 * - `heads` returns the head of each stream asked for, in order ({seq: 0, index: 0} if never written).
 */
export interface StreamHeads {
  advance(entries: readonly StreamHead[]): Promise<void>;
  heads(streams: readonly string[]): Promise<{ seq: number; index: number }[]>;
}

export interface StreamHead {
  stream: string;
  seq: number;
  index: number;
}

/** The inbox key of a large group's timeline ("g:<id>"): stored like a user's inbox, read by every member. */
export function groupStream(groupId: string): string {
  return `g:${groupId}`;
}

export function isGroupStream(inbox: string): boolean {
  return inbox.startsWith('g:');
}

/** The inbox key of the system timeline: notices to everyone or to a tag, stored once and read by every user. */
export const SYSTEM_STREAM = 's:system';

/** A stream many users read (a large group's timeline or the system timeline), whose head is kept. */
export function isSharedStream(inbox: string): boolean {
  return isGroupStream(inbox) || inbox === SYSTEM_STREAM;
}
