import type { Message, Notice } from '../../proto/gen/im/v1/message.pb.ts';
import { SYSTEM_CONVERSATION } from '../../lib/conversation.ts';
import type { NoticeRecord } from './notice-store.ts';

export const NOTICE_CONTENT_TYPE = 'application/vnd.im.notice';

/** Who a notice's entries say they are for: "users", "all" or "tag:<tag>" (Notice.audience). */
export function audienceOf(record: NoticeRecord): string {
  if (record.target.kind === 'tag') return `tag:${record.target.tag}`;
  return record.target.kind;
}

/** The gateway room that reaches a stored-once notice's audience online: everyone, or an app's tag. */
export function roomOfAudience(appId: string, audience: string): string {
  return audience === 'all' ? SYSTEM_CONVERSATION : `tag:${appId}:${audience.slice('tag:'.length)}`;
}

/**
 * The entry a notice becomes, in an inbox ("inbox") or the system timeline ("system"), seq 0 (each row has its
 * own). Its time is the scheduled one, so a firing repeated after a crash writes the same entry.
 */
export function noticeMessage(record: NoticeRecord, stream: 'inbox' | 'system'): Message {
  const { content } = record;
  const notice: Notice = {
    noticeId: record.id,
    appId: record.appId,
    title: content.title,
    body: content.body,
    data: content.data,
    imageUrl: content.imageUrl,
    sound: content.sound,
    category: content.category,
    collapseKey: content.collapseKey,
    priority: record.priority,
    expireAtMs: record.expireAtMs,
    audience: audienceOf(record),
  };
  return {
    serverMsgId: record.serverMsgId,
    conversation: SYSTEM_CONVERSATION,
    fromUser: record.appId,
    fromDevice: '',
    clientMsgId: record.messageId,
    seq: 0,
    stream,
    sentAtMs: record.deliverAtMs,
    contentType: NOTICE_CONTENT_TYPE,
    body: Buffer.alloc(0),
    prevSeq: 0,
    streamIndex: 0,
    notice,
  };
}

/** The entry that takes a fired notice back from the devices that have it (a recall, as for chat messages). */
export function noticeRecall(record: NoticeRecord, stream: 'inbox' | 'system', atMs: number): Message {
  const original = noticeMessage(record, stream);
  return {
    ...original,
    serverMsgId: `${record.serverMsgId}.recall`,
    clientMsgId: `${record.messageId}.recall`,
    sentAtMs: atMs,
    // What identifies it, no content: the recall must not carry what it takes back.
    notice: { ...emptyNotice(), noticeId: record.id, appId: record.appId, audience: audienceOf(record) },
    op: {
      kind: {
        $case: 'recall',
        value: { fromDevice: '', clientMsgId: record.messageId, serverMsgId: record.serverMsgId },
      },
    },
  };
}

function emptyNotice(): Notice {
  return {
    noticeId: '',
    appId: '',
    title: '',
    body: '',
    data: {},
    imageUrl: '',
    sound: '',
    category: '',
    collapseKey: '',
    priority: '',
    expireAtMs: 0,
    audience: '',
  };
}
