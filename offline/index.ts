import type {
  AckInboxRequest,
  AckInboxResponse,
  AllocateSeqsRequest,
  AllocateSeqsResponse,
  GetCursorRequest,
  GetCursorResponse,
  GetEntriesRequest,
  GetEntriesResponse,
  GetEpochResponse,
  ReadInboxRequest,
  ReadInboxResponse,
  WriteInboxRequest,
  WriteInboxResponse,
  GetHeadsRequest,
  GetHeadsResponse,
  GetUnreadRequest,
  GetUnreadResponse,
  GetUnreadsRequest,
  GetUnreadsResponse,
  ReadInboxesRequest,
  ReadInboxesResponse,
  RedactInboxRequest,
  RedactInboxResponse,
  UpdateUnreadRequest,
  UpdateUnreadResponse,
} from '../proto/gen/im/v1/services.pb.ts';
import { Message } from '../proto/gen/im/v1/message.pb.ts';
import { ImError } from '../lib/errors.ts';
import { stopwatch } from '../lib/metrics.ts';
import type { EncodedInboxPage, InboxStore } from './inbox-store.ts';
import type { Sequencer } from './sequencer.ts';
import { isSharedStream, type StreamHeads } from './stream-heads.ts';
import type { UnreadStore } from './unread-store.ts';

import type { OfflineApi } from './api.ts';

export { OfflineServiceService, type OfflineApi } from './api.ts';
export { decodePage, tombstone, type EncodedInboxPage } from './inbox-store.ts';
export { coalescedOffline } from './coalesced.ts';
export { groupStream, isGroupStream, isSharedStream, SYSTEM_STREAM } from './stream-heads.ts';

export const MAX_READ_LIMIT = 1000;

/** The offline service: sequence allocation plus the inbox, with reads that never pass a seq still in flight. */
export class Offline implements OfflineApi {
  constructor(
    private readonly sequencer: Sequencer,
    private readonly inbox: InboxStore,
    private readonly unreads: UnreadStore,
    private readonly streamHeads: StreamHeads,
  ) {}

  async allocateSeqs({ users }: AllocateSeqsRequest): Promise<AllocateSeqsResponse> {
    const timer = stopwatch();
    const seqs = await this.sequencer.allocate(users);
    timer.lap('offline.sequencer');
    return { seqs };
  }

  async writeInbox({ entries, unread }: WriteInboxRequest): Promise<WriteInboxResponse> {
    const rows = entries.map((e) => {
      if (!e.message) throw new ImError('INVALID_ARGUMENT', 'offline: inbox entry without a message');
      return { user: e.user, message: e.message };
    });
    if (unread) await this.updateUnread(unread);
    const timer = stopwatch();
    await this.inbox.write(rows);
    timer.lap('offline.inbox_store');
    await this.sequencer.complete(rows.map((r) => ({ user: r.user, seq: r.message.seq })));
    const shared = rows
      .filter((r) => isSharedStream(r.user))
      .map((r) => ({ stream: r.user, seq: r.message.seq, index: r.message.streamIndex }));
    await this.streamHeads.advance(shared);
    return {};
  }

  async getEntries({ refs }: GetEntriesRequest): Promise<GetEntriesResponse> {
    const found = await Promise.all(
      refs.map(async ({ user, seq }) => (await this.inbox.read(user, seq - 1, 1, seq + 1)).messages[0]),
    );
    return { entries: found.map((m) => m ?? Message.create()) };
  }

  /** Every stored inbox entry (InboxStore.scan): what a search reindex reads. Not part of the gRPC API. */
  scanInbox(pageSize?: number): AsyncIterable<{ user: string; message: Message }> {
    return this.inbox.scan(pageSize);
  }

  async readInbox({ user, afterSeq, limit }: ReadInboxRequest): Promise<ReadInboxResponse> {
    const { epoch, bounded, inFlight, head } = await this.readBounds(user, limit);
    const page = await this.inbox.read(user, afterSeq, bounded, inFlight, head);
    return { messages: page.messages, hasMore: page.hasMore, floorSeq: page.floorSeq, epoch };
  }

  /**
   * ReadInbox with each entry as the bytes stored, for a reader in this process that forwards them (sync), and
   * `throughSeq`: the seq this page has the reader caught up to. That is the last entry while there is more; else
   * every seq up to the head and below the lowest one in flight, entries or gaps, so a reader of an empty inbox
   * (or one whose newest seqs are gaps) moves up to its head instead of staying behind it.
   */
  async readInboxEncoded({
    user,
    afterSeq,
    limit,
  }: ReadInboxRequest): Promise<EncodedInboxPage & { epoch: number; throughSeq: number }> {
    const { epoch, bounded, inFlight, head } = await this.readBounds(user, limit);
    const page = await this.inbox.readEncoded(user, afterSeq, bounded, inFlight, head);
    const last = page.seqs.at(-1) ?? afterSeq;
    const settled = Math.min(head ?? afterSeq, (inFlight ?? Infinity) - 1);
    return { ...page, epoch, throughSeq: page.hasMore ? last : Math.max(last, settled) };
  }

  /**
   * A read's epoch, its limit within MAX_READ_LIMIT, the seq it stops before, and the user's head, which spares the
   * store its bucket index on most reads (one Redis round trip for all: auto-pipelined). The head is asked first,
   * and one Redis connection runs commands in the order sent: a seq at or below the head was allocated before the
   * in-flight set is read, so it is either still in flight there or already written. A seq above the head was not:
   * a lower one allocated after the in-flight set was read may still be on its way, so the read stops after the
   * head too, not only before the lowest seq in flight (readInboxEncoded's `throughSeq` relies on both).
   */
  private async readBounds(user: string, limit: number) {
    const bounded = Math.min(Math.max(limit, 1), MAX_READ_LIMIT);
    const [head, epoch, lowest] = await Promise.all([
      this.sequencer.head(user),
      this.sequencer.epoch(),
      this.sequencer.lowestInFlight(user),
    ]);
    const inFlight = head === undefined ? lowest : Math.min(lowest ?? Infinity, head + 1);
    return { epoch, bounded, inFlight, head };
  }

  async readInboxes({ reads }: ReadInboxesRequest): Promise<ReadInboxesResponse> {
    return { pages: await Promise.all(reads.map((r) => this.readInbox(r))) };
  }

  /** A recall's tombstones; sync answers pages read ahead before this for a few seconds more (sync/pages-ahead.ts). */
  async redactInbox({ entries }: RedactInboxRequest): Promise<RedactInboxResponse> {
    await this.inbox.redact(entries.map(({ user, seq }) => ({ user, seq })));
    return {};
  }

  /** An expired or cancelled notice's entries: gone, their seqs gaps. */
  async removeInbox({ entries }: RedactInboxRequest): Promise<RedactInboxResponse> {
    await this.inbox.remove(entries.map(({ user, seq }) => ({ user, seq })));
    return {};
  }

  async ackInbox({ user, device, seq }: AckInboxRequest): Promise<AckInboxResponse> {
    await this.inbox.ack(user, device, seq);
    return {};
  }

  async getCursor({ user, device }: GetCursorRequest): Promise<GetCursorResponse> {
    return { seq: await this.inbox.cursor(user, device) };
  }

  async getEpoch(): Promise<GetEpochResponse> {
    return { epoch: await this.sequencer.epoch() };
  }

  async updateUnread({ arrived, recalled, read, timelineRead }: UpdateUnreadRequest): Promise<UpdateUnreadResponse> {
    // All issued at once: on Redis with auto-pipelining they leave in one write and come back in one read (a
    // send's arrivals and its sender's read marker were two or three round trips). They touch different
    // (user, conversation) pairs: one request never holds two sends of one conversation (the bus hands those over
    // one at a time), and each change is one atomic script whose outcome does not depend on the others' order.
    const [unreadAfterRead, timelineMarks] = await Promise.all([
      Promise.all(read.map((marker) => this.unreads.markRead(marker))),
      Promise.all(timelineRead.map((marker) => this.unreads.markTimelineRead(marker))),
      this.unreads.arrived(arrived),
      this.unreads.recalled(recalled),
    ]);
    return { unreadAfterRead, timelineMarks };
  }

  async getHeads({ streams }: GetHeadsRequest): Promise<GetHeadsResponse> {
    const heads = await this.streamHeads.heads(streams);
    return { heads: streams.map((stream, i) => ({ stream, seq: heads[i]?.seq ?? 0, index: heads[i]?.index ?? 0 })) };
  }

  async getUnreads({ requests }: GetUnreadsRequest): Promise<GetUnreadsResponse> {
    return { responses: await Promise.all(requests.map((r) => this.getUnread(r))) };
  }

  async getUnread({ user, throughSeq, timelines }: GetUnreadRequest): Promise<GetUnreadResponse> {
    const [conversations, timelineMarks] = await Promise.all([
      this.unreads.unread(user, throughSeq === 0 ? undefined : throughSeq),
      this.unreads.timelineMarks(user, timelines),
    ]);
    return { conversations, timelineMarks };
  }
}
