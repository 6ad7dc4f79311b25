import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import pLimit from 'p-limit';
import { SyncResponse, type AckResult } from '../proto/gen/im/v1/client.pb.ts';
import type { Message, StreamPosition } from '../proto/gen/im/v1/message.pb.ts';
import type {
  AckManyRequest,
  AckManyResponse,
  GetDiffRequest,
  GetUnreadTotalsRequest,
  GetUnreadTotalsResponse,
  SyncAckRequest,
} from '../proto/gen/im/v1/services.pb.ts';
import { groupConversation, SYSTEM_CONVERSATION } from '../lib/conversation.ts';
import { ImError } from '../lib/errors.ts';
import { decodePage, groupStream, SYSTEM_STREAM, type EncodedInboxPage, type Offline } from '../offline/index.ts';
import { DEFAULT_SYNC_PAGE_BYTES, fitInboxPage, fittingMessages } from './page-bytes.ts';
import { PagesAhead } from './pages-ahead.ts';
import { decodeSyncKey, encodeSyncKey, initialKey, type SyncKey } from './sync-key.ts';
import { countsAsUnread, SYSTEM_STREAM_NAME, visibleTo, type TagOfUser, type TagsOf } from './system-timeline.ts';

import type { SyncApi } from './api.ts';

export { SyncServiceService, type SyncApi } from './api.ts';
export { syncHttpHandler } from './http.ts';
export { countsAsUnread, SYSTEM_STREAM_NAME, visibleTo, type TagOfUser, type TagsOf } from './system-timeline.ts';

export const DEFAULT_SYNC_LIMIT = 100;
export const MAX_SYNC_LIMIT = 500;

/** SyncResponse.messages: field 1, length-delimited. */
const MESSAGES_TAG = (1 << 3) | WireType.LengthDelimited;

/** What sync reads, in-process (decision 0015): offline's reads over its stores. */
export type SyncStores = Pick<
  Offline,
  'readInbox' | 'readInboxEncoded' | 'getHeads' | 'getUnread' | 'getEpoch' | 'ackInbox'
>;

/** One GetDiff page before it is encoded: the inbox entries as stored, the large groups' messages, the rest. */
interface Diff {
  inbox: EncodedInboxPage;
  groupMessages: Message[];
  rest: Omit<SyncResponse, 'messages'>;
}

/** The ids of the groups a user is in (large groups' timelines are read from these). */
export type GroupsOf = (user: string) => Promise<string[]>;

export interface SyncOptions {
  /** Message bytes per page at most (DEFAULT_SYNC_PAGE_BYTES): a page is one frame to the client. */
  maxPageBytes?: number;
  ahead?: PagesAhead;
  /** The tags a user carries, for notices sent to a tag (none when absent). */
  tagsOf?: TagsOf;
  now?: () => number;
}

/** Users whose unread totals are computed at once (GetUnreadTotals). */
const UNREAD_TOTALS_CONCURRENCY = 16;

/** The most system-timeline entries one unread count reads past the user's marker. */
const SYSTEM_UNREAD_SCAN = 1000;

/**
 * GetDiff over the user's streams in one round trip: the inbox (1:1, small groups, read markers) and the timeline
 * of every large group the user is in. Which timelines have anything new comes from one heads lookup, so quiet
 * groups are never read. A key we cannot serve whole (another epoch, or behind what retention kept) is answered
 * with `reset` and a page from the start of what is kept: never a silent skip. A page with more inbox after it
 * starts reading the next one, which the reader asks for next (PagesAhead).
 */
export class Sync implements SyncApi {
  private readonly ahead: PagesAhead;
  private readonly maxPageBytes: number;
  private readonly tagsOf: TagsOf;
  private readonly now: () => number;

  constructor(
    private readonly offline: SyncStores,
    private readonly groupsOf: GroupsOf = () => Promise.resolve([]),
    options: SyncOptions = {},
  ) {
    this.ahead = options.ahead ?? new PagesAhead();
    this.maxPageBytes = options.maxPageBytes ?? DEFAULT_SYNC_PAGE_BYTES;
    this.tagsOf = options.tagsOf ?? (() => Promise.resolve([]));
    this.now = options.now ?? Date.now;
  }

  async getDiff(request: GetDiffRequest): Promise<SyncResponse> {
    return decoded(await this.diff(request));
  }

  /**
   * GetDiff as SyncResponse bytes. The inbox entries go out as Cassandra returned them, never decoded here: an
   * embedded message is encoded exactly like a bytes field, and ts-proto writes `messages` (field 1) first, so the
   * entries followed by the rest of the response are the bytes `SyncResponse.encode` would give. Only a page that
   * also carries large-group messages is decoded, to interleave them by time.
   */
  async getDiffEncoded(request: GetDiffRequest): Promise<Uint8Array> {
    const diff = await this.diff(request);
    if (diff.groupMessages.length > 0) return SyncResponse.encode(decoded(diff)).finish();
    const writer = new BinaryWriter();
    for (const bytes of diff.inbox.encoded) writer.uint32(MESSAGES_TAG).bytes(bytes);
    return SyncResponse.encode({ ...diff.rest, messages: [] }, writer).finish();
  }

  /** One page: the inbox entries (encoded), the large groups' messages, and everything else of the response. */
  private async diff({ user, syncKey, limit: requested }: GetDiffRequest): Promise<Diff> {
    const limit = requested === 0 ? DEFAULT_SYNC_LIMIT : Math.min(requested, MAX_SYNC_LIMIT);
    // The page says which epoch it was read in, so the common case is one call; a key from another epoch (rare)
    // costs a second read from the start. An empty key takes the page's epoch.
    let key = decodeSyncKey(syncKey, user, 0);
    // The user's large groups and their heads are looked up while the inbox is read.
    const request = { user, afterSeq: key.inboxSeq, limit };
    const read = () => this.offline.readInboxEncoded(request);
    const [first, heads] = await Promise.all([this.ahead.take(request)?.catch(read) ?? read(), this.sharedHeads(user)]);
    let page = first;
    const epoch = page.epoch;
    let reset = syncKey !== '' && key.epoch !== epoch;
    if (reset) {
      key = initialKey(user, epoch);
      page = await this.offline.readInboxEncoded({ user, afterSeq: 0, limit });
    } else key.epoch = epoch;
    if (page.floorSeq > key.inboxSeq) {
      reset = true;
      key = { ...key, inboxSeq: page.floorSeq };
      page = await this.offline.readInboxEncoded({ user, afterSeq: key.inboxSeq, limit });
    }
    // Bounded in bytes as well as in count: a page is one frame, and a frame over the connection's send queue
    // would cut the reader off on every connect.
    const fitted = fitInboxPage(page, this.maxPageBytes);
    page = fitted;
    // The reader will ask for the page after this one next: read it while this one travels.
    if (page.hasMore)
      this.ahead.readAhead({ user, afterSeq: page.throughSeq, limit }, (r) => this.offline.readInboxEncoded(r));
    const budget = {
      count: limit - page.seqs.length,
      bytes: this.maxPageBytes - fitted.bytes,
      empty: page.seqs.length === 0,
    };
    const groups = await this.readGroups(heads, key, budget);
    // The user's tags are looked up once, and only when the system timeline is read.
    let tags: Promise<TagOfUser[]> | undefined;
    const tagsOnce = () => (tags ??= this.tagsOf(user));
    const systemBudget = { ...budget, empty: budget.empty && groups.messages.length === 0 };
    const system = await this.readSystem(heads.system, key.systemSeq, systemBudget, tagsOnce);
    const next: SyncKey = { ...key, inboxSeq: page.throughSeq, groups: groups.cursors, systemSeq: system.cursor };
    const hasMore = page.hasMore || groups.hasMore || system.hasMore;
    // Counts come with the last page only: pages before it are still catching up.
    const unread = hasMore ? [] : await this.unread(user, next, groups.through, tagsOnce);
    const streams = Object.entries(groups.cursors).map(([g, seq]) => ({
      stream: groupConversation(g),
      seq,
      index: groups.through.get(g) ?? 0,
    }));
    if (system.cursor > 0) streams.push({ stream: SYSTEM_STREAM_NAME, seq: system.cursor, index: 0 });
    const rest: Omit<SyncResponse, 'messages'> = {
      syncKey: encodeSyncKey(next),
      hasMore,
      reset: reset || groups.reset || system.reset,
      inboxSeq: next.inboxSeq,
      unread: unread.filter((c) => c.unread > 0),
      totalUnread: unread.reduce((sum, c) => sum + c.unread, 0),
      streams,
    };
    return { inbox: page, groupMessages: [...groups.messages, ...system.messages], rest };
  }

  /**
   * Unread per conversation as of this page: inbox entries up to `inboxSeq`, plus each large group's timeline
   * messages up to the page's cursor (`through`: the stream_index there) past the user's timeline marker.
   */
  private async unread(user: string, key: SyncKey, through: Map<string, number>, tags: () => Promise<TagOfUser[]>) {
    const ids = [...through.keys()];
    const { conversations, timelineMarks } = await this.offline.getUnread({
      user,
      throughSeq: key.inboxSeq,
      timelines: [...ids.map(groupConversation), SYSTEM_CONVERSATION],
    });
    const byConversation = new Map(conversations.map((c) => [c.conversation, { ...c }]));
    for (const [i, id] of ids.entries()) {
      const n = Math.max(0, through.get(id)! - (timelineMarks[i] ?? 0));
      if (n === 0) continue;
      const conversation = groupConversation(id);
      const c = byConversation.get(conversation) ?? { conversation, unread: 0, readSeq: 0 };
      c.unread += n;
      byConversation.set(conversation, c);
    }
    const systemMark = timelineMarks[ids.length] ?? 0;
    const onTimeline = await this.systemUnread(systemMark, key.systemSeq, tags);
    if (onTimeline > 0) {
      const c = byConversation.get(SYSTEM_CONVERSATION) ?? { conversation: SYSTEM_CONVERSATION, unread: 0, readSeq: 0 };
      c.unread += onTimeline;
      byConversation.set(SYSTEM_CONVERSATION, c);
    }
    return [...byConversation.values()];
  }

  /**
   * The system timeline's notices this user has not read: past their marker (a seq of the timeline) up to their
   * cursor, that are for them and not expired. Counted by reading them: notices to everyone are few, and each
   * reader's count depends on their tags and the time.
   */
  private async systemUnread(mark: number, cursor: number, tags: () => Promise<TagOfUser[]>): Promise<number> {
    if (cursor <= mark) return 0;
    const page = await this.offline.readInbox({ user: SYSTEM_STREAM, afterSeq: mark, limit: SYSTEM_UNREAD_SCAN });
    const now = this.now();
    const userTags = await tags();
    return page.messages.filter((m) => m.seq <= cursor && countsAsUnread(m, userTags, now)).length;
  }

  /**
   * The system timeline's entries past `from` that are for this user, within `budget`, and the cursor after them:
   * past every entry read that was not for them, up to the last one taken.
   */
  private async readSystem(
    head: number,
    from: number,
    budget: { count: number; bytes: number; empty: boolean },
    tags: () => Promise<TagOfUser[]>,
  ): Promise<{ cursor: number; messages: Message[]; hasMore: boolean; reset: boolean }> {
    if (head <= from) return { cursor: from, messages: [], hasMore: false, reset: false };
    if (budget.count <= 0 || budget.bytes <= 0) return { cursor: from, messages: [], hasMore: true, reset: false };
    const page = await this.offline.readInbox({ user: SYSTEM_STREAM, afterSeq: from, limit: budget.count });
    // Nothing past the head: an entry above it is still being written (its head moves after it), and the cursor
    // must not pass it before it is whole.
    const read = page.messages.filter((m) => m.seq <= head);
    const now = this.now();
    const userTags = await tags();
    const visible = read.filter((m) => visibleTo(m, userTags, now));
    const fit = fittingMessages(visible, budget.bytes, budget.empty);
    const taken = visible.slice(0, fit.count);
    const cut = fit.count < visible.length;
    const cursor = cut
      ? (taken.at(-1)?.seq ?? from)
      : Math.max(read.at(-1)?.seq ?? from, Math.min(page.floorSeq, head), from);
    budget.count -= taken.length;
    budget.bytes -= fit.bytes;
    const hasMore = (page.hasMore && read.length === page.messages.length) || cut;
    return { cursor, messages: taken, hasMore, reset: page.floorSeq > from };
  }

  /** The user's large groups and the head of each one's timeline, and the system timeline's head: one lookup. */
  private async sharedHeads(user: string): Promise<{ ids: string[]; heads: StreamPosition[]; system: number }> {
    const ids = await this.groupsOf(user);
    const { heads } = await this.offline.getHeads({ streams: [...ids.map(groupStream), SYSTEM_STREAM] });
    return { ids, heads: heads.slice(0, ids.length), system: heads[ids.length]?.seq ?? 0 };
  }

  /** New messages of the user's large groups, within `budget` (messages and bytes), and the cursors after them. */
  private async readGroups(
    { ids, heads }: { ids: string[]; heads: StreamPosition[] },
    key: SyncKey,
    budget: { count: number; bytes: number; empty: boolean },
  ) {
    const cursors: Record<string, number> = {};
    /** The stream_index at each group's cursor after this page, where known (hasMore leaves some unknown). */
    const through = new Map<string, number>();
    const messages: Message[] = [];
    let hasMore = false;
    let reset = false;
    if (ids.length === 0) return { cursors, through, messages, hasMore, reset };
    for (const [i, id] of ids.entries()) {
      let cursor = key.groups[id] ?? 0;
      const head = heads[i]?.seq ?? 0;
      if (head <= cursor) through.set(id, heads[i]?.index ?? 0);
      else if (budget.count <= 0 || budget.bytes <= 0) hasMore = true;
      else {
        const page = await this.offline.readInbox({ user: groupStream(id), afterSeq: cursor, limit: budget.count });
        if (page.floorSeq > cursor) reset = true;
        const fit = fittingMessages(page.messages, budget.bytes, budget.empty && messages.length === 0);
        const taken = page.messages.slice(0, fit.count);
        messages.push(...taken);
        budget.count -= taken.length;
        budget.bytes -= fit.bytes;
        const last = taken.at(-1);
        cursor = last?.seq ?? Math.max(cursor, page.floorSeq);
        if (last) through.set(id, last.streamIndex);
        hasMore ||= page.hasMore || taken.length < page.messages.length;
      }
      // Groups the user is no longer in drop out of the key: a removed member stops receiving.
      if (cursor > 0 || head > 0) cursors[id] = cursor;
    }
    return { cursors, through, messages, hasMore, reset };
  }

  /** Each user's total unread count as a device that is caught up shows it (a mobile push's badge). */
  async getUnreadTotals({ users }: GetUnreadTotalsRequest): Promise<GetUnreadTotalsResponse> {
    // A few users at a time: each is a handful of store reads, and a page of 500 at once overruns a connection.
    const limit = pLimit(UNREAD_TOTALS_CONCURRENCY);
    const totals = await Promise.all(
      users.map((user) =>
        limit(async () => {
          const { ids, heads, system } = await this.sharedHeads(user);
          const through = new Map(ids.map((id, i) => [id, heads[i]?.index ?? 0]));
          const atHeads: SyncKey = { ...initialKey(user, 0), systemSeq: system };
          const unread = await this.unread(user, atHeads, through, () => this.tagsOf(user));
          return unread.reduce((sum, c) => sum + c.unread, 0);
        }),
      ),
    );
    return { totals };
  }

  async ackMany({ requests }: AckManyRequest): Promise<AckManyResponse> {
    return { results: await Promise.all(requests.map((r) => this.ack(r))) };
  }

  async ack({ user, device, syncKey, inboxSeq, streams }: SyncAckRequest): Promise<AckResult> {
    const { epoch } = await this.offline.getEpoch();
    const key = decodeSyncKey(syncKey, user, epoch);
    if (key.epoch !== epoch) throw new ImError('BAD_SYNC_KEY', 'sync_key is from an earlier epoch: sync again');
    const seq = Math.max(key.inboxSeq, inboxSeq);
    await this.offline.ackInbox({ user, device, seq });
    const groups = { ...key.groups };
    for (const { stream, seq: at } of streams) {
      // Only groups the key already tracks: a client cannot grow its key without bound.
      const id = stream.startsWith('group:') ? stream.slice('group:'.length) : '';
      if (id in groups) groups[id] = Math.max(groups[id] ?? 0, at);
    }
    // What a device got live from the system timeline (skipping ahead only skips notices for itself).
    const system = streams.find((s) => s.stream === SYSTEM_STREAM_NAME)?.seq ?? 0;
    const systemSeq = Math.max(key.systemSeq, system);
    return { syncKey: encodeSyncKey({ ...key, inboxSeq: seq, groups, systemSeq }), inboxSeq: seq };
  }
}

export type { StreamPosition };

/**
 * The inbox page and the timelines' pages as one list in sending order, each stream keeping its own seq order:
 * a conversation that switched between inbox and timeline (a group crossing the threshold) reads in order.
 */
/** A page as a SyncResponse: the inbox entries decoded and interleaved by time with the large groups' messages. */
function decoded({ inbox, groupMessages, rest }: Diff): SyncResponse {
  return { ...rest, messages: mergeByTime(decodePage(inbox).messages, groupMessages) };
}

function mergeByTime(...lists: Message[][]): Message[] {
  const streams = new Map<string, Message[]>();
  for (const m of lists.flat()) {
    const list = streams.get(m.stream);
    if (list) list.push(m);
    else streams.set(m.stream, [m]);
  }
  const queues = [...streams.values()];
  const merged: Message[] = [];
  for (;;) {
    let next: Message[] | undefined;
    for (const q of queues) {
      const head = q[0];
      if (head && (!next || before(head, next[0]!))) next = q;
    }
    if (!next) return merged;
    merged.push(next.shift()!);
  }
}

function before(a: Message, b: Message): boolean {
  return a.sentAtMs !== b.sentAtMs ? a.sentAtMs < b.sentAtMs : a.serverMsgId < b.serverMsgId;
}
