import type { Message } from '../../proto/gen/im/v1/message.pb.ts';
import { SYSTEM_CONVERSATION } from '../../lib/conversation.ts';
import type { Logger } from '../../lib/logger.ts';
import { SYSTEM_STREAM, type OfflineApi } from '../../offline/index.ts';
import type { PushApi } from '../../push/index.ts';
import type { Lanes } from './lanes.ts';
import { noticeFirstDeliverySeconds, noticesTotal } from './metrics.ts';
import { audienceOf, noticeMessage, noticeRecall, roomOfAudience } from './notice-message.ts';
import type { NoticeRecipient, NoticeRecord, NoticeStore } from './notice-store.ts';
import type { TagStore } from './tag-store.ts';

/** Where the seqs of a cancelled notice's recall entries are recorded: chunks of their own, beside the notice's. */
function recallChunksOf(id: string): string {
  return `${id}.recall`;
}

export interface FiringDeps {
  store: NoticeStore;
  tags: TagStore;
  offline: Pick<
    OfflineApi,
    'allocateSeqs' | 'writeInbox' | 'getHeads' | 'removeInbox' | 'redactInbox' | 'updateUnread' | 'getEntries'
  >;
  push: Pick<PushApi, 'deliverMessages' | 'deliverToRoom'>;
  lanes: Lanes;
  log: Logger;
  /** Resolves once the stores' writes so far are durable (the data directory commits in groups). */
  durable?: () => Promise<void>;
  now: () => number;
  /** Listed recipients written per task: a higher lane's notice waits for at most one chunk of a lower one. */
  chunkSize: number;
  /** Called while a firing runs, so its claim does not lapse (the scheduler renews it). */
  renew: (record: NoticeRecord) => Promise<boolean>;
  /** Fault injection for crash tests: runs after each chunk of listed recipients is written and delivered. */
  afterChunk?: () => void;
}

/**
 * What firing, cancelling and expiring a notice writes. Listed users get an entry each in their inbox (write fan-out,
 * in chunks, each chunk's seqs recorded before its rows are written, so a firing repeated after a crash rewrites the
 * same rows); a tag or everyone gets one entry in the system timeline, read by each user through their sync_key,
 * and live delivery through the gateways' rooms (one call per gateway node).
 */
export class Firing {
  constructor(private readonly deps: FiringDeps) {}

  /**
   * Fires a claimed notice in its priority's lane; resolves when it is sent (or found cancelled and taken back).
   * `fresh`: this process created it already claimed, just now, so it has no chunks yet and its claim needs no
   * renewal before the first one (three store round trips fewer for a unicast).
   */
  async fire(record: NoticeRecord, fresh = false): Promise<void> {
    const { store, now } = this.deps;
    if (record.expireAtMs <= now()) {
      if (await store.markExpired(record.id))
        noticesTotal.inc({ app: record.appId, priority: record.priority, outcome: 'expired' });
      return;
    }
    const timelineSeq =
      record.target.kind === 'users'
        ? await this.fireToUsers(record, record.target.users, fresh)
        : await this.fireShared(record, fresh);
    if (timelineSeq === undefined) return; // cancelled while firing: taken back already
    // A tag's users are counted as it fires, before it is marked sent, so a status that says sent has the count (a
    // firing repeated after a crash between the two counts them again: tags change meanwhile anyway). Listed users
    // and rows stored follow from the record (notice-status.ts).
    if (record.target.kind === 'tag') {
      await store.addCounts(record.id, { targeted: await this.deps.tags.count(record.appId, record.target.tag) });
    }
    if (await store.markSent(record.id, now(), timelineSeq)) {
      noticesTotal.inc({ app: record.appId, priority: record.priority, outcome: 'sent' });
    } else {
      await this.takeBack(record);
    }
  }

  /** Each chunk of listed users in its own lane task; undefined if the notice was cancelled meanwhile. */
  private async fireToUsers(
    record: NoticeRecord,
    users: readonly string[],
    fresh: boolean,
  ): Promise<number | undefined> {
    const known = fresh ? [] : await this.deps.store.chunks(record.id);
    const template = noticeMessage(record, 'inbox');
    for (let i = 0, start = 0; start < users.length; i++, start += this.deps.chunkSize) {
      const chunk = users.slice(start, start + this.deps.chunkSize);
      const goOn = await this.deps.lanes.run(record.priority, async () => {
        if ((i > 0 || !fresh) && !(await this.deps.renew(record))) return false;
        const recorded = known[i];
        const recipients = recorded
          ? await this.renewMissing(record.id, record.serverMsgId, i, recorded)
          : await this.recordSeqs(record.id, i, chunk);
        await this.writeAndDeliver(record, template, recipients);
        this.deps.afterChunk?.();
        return true;
      });
      if (!goOn) return this.stoppedFiring(record);
    }
    return 0;
  }

  /** One entry in the system timeline for a tag or everyone, and one delivery to the audience's room. */
  private async fireShared(record: NoticeRecord, fresh: boolean): Promise<number | undefined> {
    const seq = await this.deps.lanes.run(record.priority, async () => {
      if (!fresh && !(await this.deps.renew(record))) return undefined;
      const entry = await this.writeTimeline(record.id, noticeMessage(record, 'system'), fresh);
      await this.deps.durable?.();
      const { delivered } = await this.deps.push.deliverToRoom({
        room: roomOfAudience(record.appId, audienceOf(record)),
        message: entry,
      });
      await this.delivered(record, delivered);
      return entry.seq;
    });
    // Taken back outside the lane task: it queues tasks of its own.
    return seq ?? this.stoppedFiring(record);
  }

  /** Cancelled while firing (renew failed): what was written is taken back. */
  private async stoppedFiring(record: NoticeRecord): Promise<undefined> {
    const current = await this.deps.store.get(record.id);
    if (current?.state === 'cancelled') await this.takeBack(record);
    return undefined;
  }

  /** Seqs for a chunk, recorded before any row: if another firing recorded first, its seqs win (ours are gaps). */
  private async recordSeqs(id: string, index: number, users: readonly string[]): Promise<NoticeRecipient[]> {
    const { seqs } = await this.deps.offline.allocateSeqs({ users: [...users] });
    return this.deps.store.putChunk(
      id,
      index,
      users.map((user, i) => ({ user, seq: seqs[i]! })),
    );
  }

  /**
   * A chunk an earlier firing recorded (it died before it finished): rows it wrote keep their seqs, and a recipient
   * whose row is missing gets a new seq, recorded before its row is written. The seqs recorded then may have
   * lapsed since, and readers passed them as gaps: a row written there now would sit behind their cursors, stored
   * and never synced (the chaos run lost a notice so; sends do the same in logic/send.ts).
   */
  private async renewMissing(
    chunksId: string,
    serverMsgId: string,
    index: number,
    recipients: NoticeRecipient[],
  ): Promise<NoticeRecipient[]> {
    const { offline, store } = this.deps;
    const { entries } = await offline.getEntries({ refs: recipients });
    const missing = recipients.filter(
      ({ seq }, i) => entries[i]?.seq !== seq || entries[i].serverMsgId !== serverMsgId,
    );
    if (missing.length === 0) return recipients;
    const { seqs } = await offline.allocateSeqs({ users: missing.map((r) => r.user) });
    const renewed = new Map(missing.map((r, i) => [r.user, seqs[i]!]));
    const next = recipients.map(({ user, seq }) => ({ user, seq: renewed.get(user) ?? seq }));
    await store.replaceChunk(chunksId, index, next);
    this.deps.log.warn(
      { notice: chunksId, chunk: index, renewed: missing.length },
      'a notice fired again got new seqs',
    );
    return next;
  }

  private async writeAndDeliver(record: NoticeRecord, template: Message, recipients: NoticeRecipient[]): Promise<void> {
    const { offline, push } = this.deps;
    const arrived = template.op
      ? []
      : recipients.map(({ user, seq }) => ({ user, conversation: SYSTEM_CONVERSATION, seq }));
    await offline.writeInbox({
      entries: recipients.map(({ user, seq }) => ({ user, message: { ...template, seq } })),
      unread: { arrived, recalled: [], read: [], timelineRead: [] },
    });
    await this.deps.durable?.();
    const deliveries = recipients.map(({ user, seq }) => ({ user, message: { ...template, seq } }));
    const { delivered } = await push.deliverMessages({ deliveries, direct: [] });
    if (!template.op) await this.delivered(record, delivered);
  }

  /**
   * Writes `message` to the system timeline at a seq recorded as chunk 0 of `chunksId` (allocated once: a repeat
   * writes the same row, unless the firing that recorded it died before writing it), after the timeline's head.
   */
  private async writeTimeline(chunksId: string, message: Message, fresh = false): Promise<Message> {
    const { offline, store } = this.deps;
    const recorded = fresh ? undefined : (await store.chunks(chunksId))[0];
    let seq: number;
    if (recorded) {
      // Recorded by a firing that died: its seq is renewed if its row is missing, as renewMissing does for users.
      seq = (await this.renewMissing(chunksId, message.serverMsgId, 0, recorded))[0]!.seq;
    } else {
      const { seqs } = await offline.allocateSeqs({ users: [SYSTEM_STREAM] });
      seq = (await store.putChunk(chunksId, 0, [{ user: SYSTEM_STREAM, seq: seqs[0]! }]))[0]!.seq;
    }
    const [head] = (await offline.getHeads({ streams: [SYSTEM_STREAM] })).heads;
    const entry: Message = {
      ...message,
      seq: seq,
      prevSeq: head && head.seq < seq ? head.seq : 0,
      streamIndex: (head?.index ?? 0) + (message.op ? 0 : 1),
    };
    await offline.writeInbox({ entries: [{ user: SYSTEM_STREAM, message: entry }] });
    return entry;
  }

  private async delivered(record: NoticeRecord, devices: number): Promise<void> {
    if (devices === 0) return;
    await this.deps.store.addCounts(record.id, { delivered: devices });
    const ms = Math.max(0, this.deps.now() - Math.max(record.deliverAtMs, record.createdAtMs));
    await this.deps.store.noteFirstDelivery(record.id, Math.max(1, ms));
    noticeFirstDeliverySeconds.observe({ priority: record.priority }, ms / 1000);
  }

  /**
   * A cancelled notice that fired (in part or whole) is recalled: its entries leave every inbox (and stop counting
   * as unread), and a recall entry tells the devices that showed it. For a tag or everyone, the timeline entry
   * becomes a tombstone (sync skips it) and the recall goes to the room. Idempotent: a repeat writes the same.
   */
  async takeBack(record: NoticeRecord): Promise<void> {
    const chunks = await this.deps.store.chunks(record.id);
    if (record.target.kind !== 'users') {
      const [entry] = chunks[0] ?? [];
      if (!entry) return;
      await this.deps.lanes.run('high', async () => {
        await this.deps.offline.redactInbox({ entries: [entry] });
        const recall = await this.writeTimeline(
          recallChunksOf(record.id),
          noticeRecall(record, 'system', this.deps.now()),
        );
        await this.deps.durable?.();
        await this.deps.push.deliverToRoom({ room: roomOfAudience(record.appId, audienceOf(record)), message: recall });
      });
      return;
    }
    const recall = noticeRecall(record, 'inbox', this.deps.now());
    const recorded = await this.deps.store.chunks(recallChunksOf(record.id));
    for (const [i, recipients] of chunks.entries()) {
      await this.deps.lanes.run('high', async () => {
        await this.removeEntries(recipients);
        const users = recipients.map((r) => r.user);
        const seqs = recorded[i] ?? (await this.recordSeqs(recallChunksOf(record.id), i, users));
        await this.writeAndDeliver(record, recall, seqs);
      });
    }
  }

  /** An expired notice leaves the inboxes it was written to (sync skips it in the timeline by its expiry). */
  async expire(record: NoticeRecord): Promise<void> {
    if (record.target.kind === 'users') {
      for (const recipients of await this.deps.store.chunks(record.id)) {
        await this.deps.lanes.run('low', () => this.removeEntries(recipients));
      }
    }
    if (await this.deps.store.markExpired(record.id)) {
      noticesTotal.inc({ app: record.appId, priority: record.priority, outcome: 'expired' });
    }
  }

  private async removeEntries(recipients: readonly NoticeRecipient[]): Promise<void> {
    const recalled = recipients.map(({ user, seq }) => ({ user, conversation: SYSTEM_CONVERSATION, seq }));
    await this.deps.offline.updateUnread({ arrived: [], recalled, read: [], timelineRead: [] });
    await this.deps.offline.removeInbox({ entries: [...recipients] });
  }
}
