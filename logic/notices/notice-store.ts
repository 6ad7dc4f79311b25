import type { NoticeContent, NoticeCounts } from '../../proto/gen/im/v1/notices.pb.ts';
import type { Page } from '../group-store.ts';

export type { NoticeContent, NoticeCounts, Page };

/**
 * Where a notice is in its life. scheduled → firing (claimed by one process) → sent → expired; cancelled from any
 * state before expired. A scheduled notice whose expiry passes before it fires goes straight to expired.
 */
export type NoticeState = 'scheduled' | 'firing' | 'sent' | 'cancelled' | 'expired';
export const NOTICE_STATES: readonly NoticeState[] = ['scheduled', 'firing', 'sent', 'cancelled', 'expired'];

export type NoticePriority = 'high' | 'normal' | 'low';
export const NOTICE_PRIORITIES: readonly NoticePriority[] = ['high', 'normal', 'low'];

/** Who a notice is for: listed users (written to each inbox), the users an app tagged, or everyone. */
export type NoticeTargetRecord = { kind: 'users'; users: string[] } | { kind: 'tag'; tag: string } | { kind: 'all' };

/** One recipient of a listed notice and the seq allocated for it in their inbox. */
export interface NoticeRecipient {
  user: string;
  seq: number;
}

/** A notice as the notice service keeps it. */
export interface NoticeRecord {
  /** `ntc_` and a lower-case ULID: ids sort by creation. */
  id: string;
  appId: string;
  /** The app's idempotency key: (appId, messageId) is unique. */
  messageId: string;
  target: NoticeTargetRecord;
  content: NoticeContent;
  priority: NoticePriority;
  createdAtMs: number;
  deliverAtMs: number;
  expireAtMs: number;
  state: NoticeState;
  /** The id of the entry it becomes in inboxes or the timeline, fixed at creation: firing again writes the same. */
  serverMsgId: string;
  /** 0 until then. */
  firedAtMs: number;
  cancelledAtMs: number;
  /** The process that claimed the firing and until when its claim holds ('' and 0 when unclaimed). */
  claimOwner: string;
  claimUntilMs: number;
  /** For a tag or everyone: the notice's seq in the system timeline once written (0 before). */
  timelineSeq: number;
}

/**
 * The notices of every app (port): records, the recipients' seqs of listed notices (in chunks), and counters.
 *
 * - `create` stores the record unless the app already has one with its messageId; either way it returns the
 *   record stored under (appId, messageId) and whether this call created it. Atomic: of concurrent creates with one
 *   (appId, messageId), exactly one creates.
 * - `get` returns a copy, or undefined.
 * - `list` pages one app's notices by id ascending (ids strictly after `after`), only those in `state` when given.
 * - `due(nowMs, limit)`: notices to fire, earliest deliverAtMs first: scheduled with deliverAtMs <= nowMs, and
 *   firing ones whose claim lapsed (claimUntilMs <= nowMs).
 * - `claim(id, owner, nowMs, untilMs)` moves a scheduled notice, or a firing one whose claim lapsed or is `owner`'s,
 *   to firing owned by `owner` until `untilMs`, and returns it; undefined otherwise (another holds it, or it is sent,
 *   cancelled or expired). Atomic: of concurrent claims by different owners, at most one succeeds.
 * - `markSent(id, firedAtMs, timelineSeq)` moves firing to sent; false (and no change) if it is no longer firing
 *   (cancelled meanwhile).
 * - `cancel(id, atMs)` moves scheduled, firing or sent to cancelled (cancelledAtMs = atMs) and returns the record as
 *   it was before; a cancelled or expired notice is left as it is and returned as it is. undefined if unknown.
 * - `expiring(nowMs, limit)`: sent or scheduled notices with expireAtMs <= nowMs. `markExpired(id)` moves one of
 *   those states to expired; false if it was in another.
 * - `putChunk(id, index, recipients)` stores chunk `index` of a listed notice's recipients unless stored, and
 *   returns what is stored (the first writer's seqs win, so a firing repeated after a crash writes the same rows).
 *   `chunks(id)` returns every stored chunk in index order. `replaceChunk(id, index, recipients)` records a stored
 *   chunk anew (a repeated firing gave the recipients whose rows were missing new seqs); nothing if none is stored.
 * - `addCounts(id, delta)` adds to the counters (atomic increments); `counts(id)` reads them (zeros if none).
 * - `noteFirstDelivery(id, ms)` keeps the first value it is given per notice; `firstDelivery(id)` reads it (0: none).
 */
export interface NoticeStore {
  create(record: NoticeRecord): Promise<{ record: NoticeRecord; created: boolean }>;
  get(id: string): Promise<NoticeRecord | undefined>;
  list(appId: string, page: { after: string; limit: number; state?: NoticeState }): Promise<Page<NoticeRecord>>;
  due(nowMs: number, limit: number): Promise<NoticeRecord[]>;
  claim(id: string, owner: string, nowMs: number, untilMs: number): Promise<NoticeRecord | undefined>;
  markSent(id: string, firedAtMs: number, timelineSeq: number): Promise<boolean>;
  cancel(id: string, atMs: number): Promise<NoticeRecord | undefined>;
  expiring(nowMs: number, limit: number): Promise<NoticeRecord[]>;
  markExpired(id: string): Promise<boolean>;
  putChunk(id: string, index: number, recipients: readonly NoticeRecipient[]): Promise<NoticeRecipient[]>;
  chunks(id: string): Promise<NoticeRecipient[][]>;
  replaceChunk(id: string, index: number, recipients: readonly NoticeRecipient[]): Promise<void>;
  addCounts(id: string, delta: Partial<NoticeCounts>): Promise<void>;
  counts(id: string): Promise<NoticeCounts>;
  noteFirstDelivery(id: string, ms: number): Promise<void>;
  firstDelivery(id: string): Promise<number>;
}

/** A deep copy: no caller shares an adapter's arrays and objects. */
export function copyNotice(record: NoticeRecord): NoticeRecord {
  const target: NoticeTargetRecord =
    record.target.kind === 'users' ? { kind: 'users', users: [...record.target.users] } : { ...record.target };
  return { ...record, target, content: { ...record.content, data: { ...record.content.data } } };
}
