import { Message } from '../proto/gen/im/v1/message.pb.ts';
import type { InboxRead } from './pages-ahead.ts';

/**
 * The most a GetDiff page carries in message bytes by default. A page goes to the client as one frame, and a
 * connection's send queue (1 MiB by default) cuts off a client whose queue would overflow: a page must stay well
 * under it, with room for live deliveries queued beside it.
 */
export const DEFAULT_SYNC_PAGE_BYTES = 256 * 1024;

/** What one entry adds to the encoded SyncResponse besides its own bytes: the field tag and a length varint. */
const ENTRY_OVERHEAD = 6;

/**
 * The leading entries of an inbox page that fit in `maxBytes`, and the key's position after them. The first entry
 * always goes, so a reader makes progress whatever the size (config keeps one message under the bound).
 */
export function fitInboxPage(page: InboxRead, maxBytes: number): InboxRead & { bytes: number } {
  let bytes = 0;
  let n = 0;
  for (; n < page.encoded.length; n++) {
    const size = page.encoded[n]!.length + ENTRY_OVERHEAD;
    if (n > 0 && bytes + size > maxBytes) break;
    bytes += size;
  }
  if (n === page.encoded.length) return { ...page, bytes };
  return {
    ...page,
    seqs: page.seqs.slice(0, n),
    encoded: page.encoded.slice(0, n),
    hasMore: true,
    throughSeq: page.seqs[n - 1]!,
    bytes,
  };
}

/**
 * How many of `messages` fit in `maxBytes` when encoded, and their bytes. With `forceFirst` (the page has nothing
 * yet) the first one goes whatever its size, so a reader makes progress.
 */
export function fittingMessages(
  messages: readonly Message[],
  maxBytes: number,
  forceFirst: boolean,
): { count: number; bytes: number } {
  let bytes = 0;
  for (const [i, m] of messages.entries()) {
    const size = Message.encode(m).finish().length + ENTRY_OVERHEAD;
    if (bytes + size > maxBytes && !(i === 0 && forceFirst)) return { count: i, bytes };
    bytes += size;
  }
  return { count: messages.length, bytes };
}
