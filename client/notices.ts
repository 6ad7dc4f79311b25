import type { Message } from '../proto/gen/im/v1/message.pb.ts';

/** A system notice as the SDK hands it to the app (a Message with `notice` set, flattened). */
export interface NoticeEntry {
  noticeId: string;
  appId: string;
  title: string;
  body: string;
  data: Record<string, string>;
  imageUrl: string;
  sound: string;
  category: string;
  collapseKey: string;
  priority: string;
  expireAtMs: number;
  /** "users", "all" or "tag:<tag>". */
  audience: string;
  seq: number;
  /** "inbox" or "system" (the system timeline, for notices to a tag or to everyone). */
  stream: string;
  sentAtMs: number;
  serverMsgId: string;
}

/** What a shown entry is to the app. */
export type Shown =
  | { kind: 'message' }
  | { kind: 'notice'; entry: NoticeEntry }
  /** A notice past its expiry, recalled before it was shown, or the recall of one not shown: never seen. */
  | { kind: 'hidden' }
  | { kind: 'noticeRecalled'; noticeId: string };

const REMEMBERED = 10_000;

/**
 * Sorts shown entries into messages and notices, and remembers the notices shown (server_msg_id -> notice id, the
 * most recent ones) so a recall of one can be reported by notice id: a recall names only the server_msg_id.
 */
export class Notices {
  private readonly shown = new Map<string, string>();

  constructor(private readonly now: () => number = Date.now) {}

  classify(m: Message): Shown {
    const op = m.op?.kind;
    if (op?.$case === 'recall') {
      const noticeId = this.shown.get(op.value.serverMsgId);
      if (noticeId !== undefined) {
        this.shown.delete(op.value.serverMsgId);
        return { kind: 'noticeRecalled', noticeId };
      }
      // The recall of a notice this client never showed (it carries the notice too): nothing to take back.
      return m.notice ? { kind: 'hidden' } : { kind: 'message' };
    }
    const notice = m.notice;
    if (!notice || op) return { kind: 'message' };
    // 0 is proto3's unset: no expiry given.
    if (m.recalled || (notice.expireAtMs > 0 && notice.expireAtMs <= this.now())) return { kind: 'hidden' };
    this.shown.set(m.serverMsgId, notice.noticeId);
    if (this.shown.size > REMEMBERED) this.shown.delete(this.shown.keys().next().value!);
    const entry: NoticeEntry = {
      noticeId: notice.noticeId,
      appId: notice.appId,
      title: notice.title,
      body: notice.body,
      data: { ...notice.data },
      imageUrl: notice.imageUrl,
      sound: notice.sound,
      category: notice.category,
      collapseKey: notice.collapseKey,
      priority: notice.priority,
      expireAtMs: notice.expireAtMs,
      audience: notice.audience,
      seq: m.seq,
      stream: m.stream || 'inbox',
      sentAtMs: m.sentAtMs,
      serverMsgId: m.serverMsgId,
    };
    return { kind: 'notice', entry };
  }
}
