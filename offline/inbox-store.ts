import { Message } from '../proto/gen/im/v1/message.pb.ts';

export interface InboxPage {
  /** Ascending by seq. */
  messages: Message[];
  hasMore: boolean;
  /** Highest seq dropped by retention (0 if none): a reader behind it has missed messages. */
  floorSeq: number;
}

/** A page as stored: each entry's seq and its Message protobuf, for a reader that forwards the bytes. */
export interface EncodedInboxPage {
  seqs: number[];
  encoded: Uint8Array[];
  hasMore: boolean;
  floorSeq: number;
}

export function decodePage({ encoded, hasMore, floorSeq }: EncodedInboxPage): InboxPage {
  return { messages: encoded.map((bytes) => Message.decode(bytes)), hasMore, floorSeq };
}

export function encodePage({ messages, hasMore, floorSeq }: InboxPage): EncodedInboxPage {
  return {
    seqs: messages.map((m) => m.seq),
    encoded: messages.map((m) => Message.encode(m).finish()),
    hasMore,
    floorSeq,
  };
}

/** One entry of one inbox (a user's, or a large group's timeline stored under its stream name). */
export interface InboxRef {
  user: string;
  seq: number;
}

/** What a recalled entry is stored as: no content, marked recalled, everything else (seq, ids, sender) kept. */
export function tombstone(message: Message): Message {
  return { ...message, body: Buffer.alloc(0), recalled: true };
}

/**
 * The durable per-user inbox (port).
 *
 * - `write` is an upsert keyed by (user, message.seq): writing the same entry twice leaves one row.
 * - `read` returns entries with seq > afterSeq and < beforeSeq (when given), ascending, at most `limit`.
 *   `headSeq`, when given, is a seq no entry of the user is above (Sequencer.head): an adapter may skip looking
 *   past it, and may then answer a floorSeq of 0 for a reader it knows is past the floor.
 * - `redact` turns each stored entry at (user, seq) into its `tombstone`. An entry that is not stored (never
 *   written, or below the retention floor) stays absent: redact never creates one. Idempotent.
 * - `remove` deletes each stored entry at (user, seq): its seq becomes a gap, which readers tolerate. Idempotent.
 *   (What takes an expired or cancelled notice out of inboxes: unlike a recalled message, it leaves no trace.)
 * - `ack` moves a device's cursor to max(current, seq); cursors never move backwards. It does not read the cursor
 *   back: the one caller (sync's ack) answers with the seq it acked, and `cursor` reads it when wanted.
 */
export interface InboxStore {
  write(entries: readonly { user: string; message: Message }[]): Promise<void>;
  read(user: string, afterSeq: number, limit: number, beforeSeq?: number, headSeq?: number): Promise<InboxPage>;
  /** `read`, with each entry as the bytes stored (what `read` decodes). */
  readEncoded(
    user: string,
    afterSeq: number,
    limit: number,
    beforeSeq?: number,
    headSeq?: number,
  ): Promise<EncodedInboxPage>;
  redact(entries: readonly InboxRef[]): Promise<void>;
  remove(entries: readonly InboxRef[]): Promise<void>;
  ack(user: string, device: string, seq: number): Promise<void>;
  cursor(user: string, device: string): Promise<number>;
  /**
   * Every stored entry, each once, in no order the caller may rely on, read a page at a time (a search reindex reads
   * the whole store so). Entries written, redacted or removed meanwhile may be seen either way.
   */
  scan(pageSize?: number): AsyncIterable<{ user: string; message: Message }>;
}
