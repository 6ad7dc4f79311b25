import type { NoticeRecipient as RecipientStatus, NoticeStatus } from '../../proto/gen/im/v1/notices.pb.ts';
import { SYSTEM_CONVERSATION } from '../../lib/conversation.ts';
import type { OfflineApi } from '../../offline/index.ts';
import type { NoticeRecord, NoticeStore } from './notice-store.ts';

/** Listed notices up to this many recipients report each one (and count who read it). */
export const PER_USER_STATUS_MAX = 200;

/**
 * What happened to a notice: its state and times, the counts, and for a short list of users each one's seq and
 * whether they read it (their read marker of "system" at or past it).
 */
export async function noticeStatus(
  record: NoticeRecord,
  created: boolean,
  deps: { store: NoticeStore; offline: Pick<OfflineApi, 'getUnreads'> },
): Promise<NoticeStatus> {
  const [counts, firstDeliveryMs, recipients] = await Promise.all([
    deps.store.counts(record.id),
    deps.store.firstDelivery(record.id),
    perUser(record, deps),
  ]);
  if (recipients) counts.read = recipients.filter((r) => r.read).length;
  const fired = record.firedAtMs > 0;
  if (record.target.kind === 'users') {
    counts.targeted = record.target.users.length;
    counts.stored = fired ? record.target.users.length : 0;
  } else {
    counts.stored = fired ? 1 : 0;
  }
  return {
    id: record.id,
    appId: record.appId,
    messageId: record.messageId,
    state: record.state,
    targetKind: record.target.kind,
    tag: record.target.kind === 'tag' ? record.target.tag : '',
    priority: record.priority,
    createdAtMs: record.createdAtMs,
    deliverAtMs: record.deliverAtMs,
    expireAtMs: record.expireAtMs,
    firedAtMs: record.firedAtMs,
    cancelledAtMs: record.cancelledAtMs,
    counts,
    recipients: recipients ?? [],
    created,
    content: record.content,
    firstDeliveryMs,
  };
}

async function perUser(
  record: NoticeRecord,
  deps: { store: NoticeStore; offline: Pick<OfflineApi, 'getUnreads'> },
): Promise<RecipientStatus[] | undefined> {
  if (record.target.kind !== 'users' || record.target.users.length > PER_USER_STATUS_MAX) return undefined;
  const recipients = (await deps.store.chunks(record.id)).flat();
  if (recipients.length === 0) return undefined;
  const { responses } = await deps.offline.getUnreads({
    requests: recipients.map(({ user }) => ({ user, throughSeq: 0, timelines: [] })),
  });
  return recipients.map(({ user, seq }, i) => {
    const readSeq = responses[i]?.conversations.find((c) => c.conversation === SYSTEM_CONVERSATION)?.readSeq ?? 0;
    return { user, seq, read: record.state !== 'cancelled' && readSeq >= seq };
  });
}
