import { LRUCache } from 'lru-cache';
import type { EncodedInboxPage } from '../offline/index.ts';
import type { ReadInboxRequest } from '../proto/gen/im/v1/services.pb.ts';

/** An inbox page as sync reads it: the entries, the epoch read with them and the seq they catch the reader up to. */
export type InboxRead = EncodedInboxPage & { epoch: number; throughSeq: number };

export interface PagesAheadOptions {
  /** How long a page read ahead waits for the reader to ask for it. Default 5 s. */
  ttlMs?: number;
  /** Inbox entries held at most over all pages read ahead. Default 50 000 (a few MB of message bytes). */
  maxEntries?: number;
}

/**
 * Inbox pages read before they are asked for. A reader paging through a backlog asks for the next page only once
 * it has the last one; reading that page while the last one travels takes the store's read off the reader's time.
 * A page read ahead is what a GetDiff would have answered at the moment it was read, so handing it over later is
 * the same as the reader having asked a little earlier, and the key moves only to the page's own `throughSeq`. Each
 * page is handed over once. A recall does rewrite stored entries (InboxStore.redact makes them tombstones), so a
 * page read before a recall may still carry the original body for up to its ttl (5 s). That is accepted (decision
 * 0019): the window is short, it is what the reader would have got by asking a moment earlier, and the recall's own
 * entry follows in the same stream, past this page, so the client applies it and drops the content.
 */
export class PagesAhead {
  private readonly pages: LRUCache<string, { read: Promise<InboxRead>; entries: number }>;

  constructor(options: PagesAheadOptions = {}) {
    this.pages = new LRUCache({
      ttl: options.ttlMs ?? 5_000,
      ttlAutopurge: true,
      maxSize: options.maxEntries ?? 50_000,
      // A page's size is not known until it is read: it counts at its limit.
      sizeCalculation: ({ entries }) => Math.max(1, entries),
    });
  }

  /**
   * Starts reading the page `request` asks for (a failed read is forgotten: the reader's own read will tell). When as
   * many entries are held as allowed it reads nothing: evicting a page would waste its read, and the reader of it
   * would read again (a storm of readers with long backlogs would read twice).
   */
  readAhead(request: ReadInboxRequest, read: (request: ReadInboxRequest) => Promise<InboxRead>): void {
    const key = keyOf(request);
    if (this.pages.has(key) || this.pages.calculatedSize + request.limit > this.pages.maxSize) return;
    const page = read(request);
    page.catch(() => this.pages.delete(key));
    this.pages.set(key, { read: page, entries: request.limit });
  }

  /** The page read ahead for this request, if any; it is handed over once. */
  take(request: ReadInboxRequest): Promise<InboxRead> | undefined {
    const key = keyOf(request);
    const page = this.pages.get(key);
    if (page) this.pages.delete(key);
    return page?.read;
  }
}

function keyOf({ user, afterSeq, limit }: ReadInboxRequest): string {
  return `${user}\u0000${afterSeq}\u0000${limit}`;
}
