import type { Message } from '../proto/gen/im/v1/message.pb.ts';

export interface InboxPage {
  /** Ascending by seq. */
  messages: Message[];
  hasMore: boolean;
  /** Highest seq dropped by retention (0 if none): a reader behind it has missed messages. */
  floorSeq: number;
}

/**
 * The durable per-user inbox (port).
 *
 * - `write` is an upsert keyed by (user, message.seq): writing the same entry twice leaves one row.
 * - `read` returns entries with seq > afterSeq and < beforeSeq (when given), ascending, at most `limit`.
 * - `ack` moves a device's cursor to max(current, seq) and returns the result; cursors never move backwards.
 */
export interface InboxStore {
  write(entries: readonly { user: string; message: Message }[]): Promise<void>;
  read(user: string, afterSeq: number, limit: number, beforeSeq?: number): Promise<InboxPage>;
  ack(user: string, device: string, seq: number): Promise<number>;
  cursor(user: string, device: string): Promise<number>;
}
