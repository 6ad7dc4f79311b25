/**
 * The highest seq written to each shared stream (port): lets sync skip a large group's timeline that has nothing
 * past the client's cursor without reading it, so quiet groups cost one lookup among many, not a read each.
 *
 * - `advance` raises a stream's head to max(head, seq); it never moves back.
 * - `heads` returns the head of each stream asked for, in order (0 if never written).
 */
export interface StreamHeads {
  advance(entries: readonly { stream: string; seq: number }[]): Promise<void>;
  heads(streams: readonly string[]): Promise<number[]>;
}

/** The inbox key of a large group's timeline ("g:<id>"): stored like a user's inbox, read by every member. */
export function groupStream(groupId: string): string {
  return `g:${groupId}`;
}

export function isGroupStream(inbox: string): boolean {
  return inbox.startsWith('g:');
}
