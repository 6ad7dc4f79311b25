import { ImError } from '../lib/errors.ts';
import { SearchInput } from '../proto/gen/im/v1/bus.pb.ts';
import type { Message } from '../proto/gen/im/v1/message.pb.ts';
import { docIdOf, mattersToSearch, type IndexingOptions, type StoredEntry } from './indexing.ts';

/** A record for the `search_input` topic: keyed by the document it changes, so a document's changes stay in order. */
export interface SearchRecord {
  key: string;
  value: Uint8Array;
}

/**
 * What of one inbox write goes to the search process (cluster mode): a record per message that changes the index,
 * the message once and the inboxes it went to with their seqs (a small group's message is one record, not one per
 * member). Entries the index ignores (read markers, mutes, images) give none.
 */
export function searchRecordsOf(entries: readonly StoredEntry[], options: IndexingOptions = {}): SearchRecord[] {
  const byMessage = new Map<string, { message: Message; inboxes: { user: string; seq: number }[] }>();
  for (const { user, message } of entries) {
    if (!message || !mattersToSearch(message, options)) continue;
    const held = byMessage.get(message.serverMsgId);
    if (held) held.inboxes.push({ user, seq: message.seq });
    else byMessage.set(message.serverMsgId, { message, inboxes: [{ user, seq: message.seq }] });
  }
  return [...byMessage.values()].map(({ message, inboxes }) => ({
    key: docIdOf(message),
    value: SearchInput.encode({ message: { ...message, seq: 0 }, inboxes }).finish(),
  }));
}

/** A `search_input` record as the stored entries it stands for; a record without a message is a poison record. */
export function entriesOfRecord(value: Uint8Array): StoredEntry[] {
  const { message, inboxes } = SearchInput.decode(value);
  if (!message || message.serverMsgId === '') throw new ImError('BAD_FRAME', 'search_input record without a message');
  return inboxes.map(({ user, seq }) => ({ user, message: { ...message, seq } }));
}
