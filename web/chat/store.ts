import type { ChatMessage, MessageEncryption, NoticeEntry } from '../../client/sdk.ts';
import { SYSTEM_CONVERSATION } from '../../lib/conversation.ts';

export type ConversationKind = 'dm' | 'group' | 'system';

/** Where a message is on its way: shown before the server has it (pending), durable (sent), or given up (failed). */
export type DeliveryStatus = 'pending' | 'sent' | 'failed';

/** One line of a conversation as the page shows it. */
export interface ChatEntry {
  /** The sender's (device, client_msg_id): what edits and recalls name, and what a pending send becomes. */
  key: string;
  fromUser: string;
  fromDevice: string;
  clientMsgId: string;
  seq: number;
  stream: string;
  sentAtMs: number;
  text: string;
  status: DeliveryStatus;
  edited: boolean;
  recalled: boolean;
  encryption?: MessageEncryption;
  /** Set on a system notice: what its app sent. */
  notice?: { id: string; title: string };
}

export interface Conversation {
  id: string;
  kind: ConversationKind;
  /** A group's name once known; the other user of a 1:1. */
  title: string;
  entries: ChatEntry[];
}

export function entryKey(fromDevice: string, clientMsgId: string): string {
  return `${fromDevice}/${clientMsgId}`;
}

export function kindOf(conversation: string): ConversationKind {
  if (conversation === SYSTEM_CONVERSATION) return 'system';
  return conversation.startsWith('group:') ? 'group' : 'dm';
}

/**
 * Everything the page knows of this user's conversations, kept in memory from what sync and live delivery bring
 * (in the SDK's order, so no duplicates and no gaps), plus the sends not yet acknowledged. Views redraw on change.
 */
export class ChatStore {
  readonly conversations = new Map<string, Conversation>();
  private readonly listeners = new Set<() => void>();

  constructor(readonly me: string) {}

  onChange(listener: () => void): void {
    this.listeners.add(listener);
  }

  changed(): void {
    for (const listener of this.listeners) listener();
  }

  conversation(id: string, title?: string): Conversation {
    let c = this.conversations.get(id);
    if (!c)
      this.conversations.set(
        id,
        (c = { id, kind: kindOf(id), title: title ?? defaultTitle(id, this.me), entries: [] }),
      );
    else if (title) c.title = title;
    return c;
  }

  /** A message or an operation from the SDK. */
  applyMessage(m: ChatMessage): void {
    const op = m.op?.kind;
    if (op?.$case === 'edit' || op?.$case === 'recall') {
      const target = this.find(m.conversation, entryKey(op.value.fromDevice, op.value.clientMsgId));
      if (target && op.$case === 'edit')
        Object.assign(target, { text: textOf(m), edited: true, encryption: m.encryption });
      if (target && op.$case === 'recall') Object.assign(target, { text: '', recalled: true });
    }
    if (op) return this.changed();
    const entry: ChatEntry = {
      key: entryKey(m.fromDevice, m.clientMsgId),
      fromUser: m.fromUser,
      fromDevice: m.fromDevice,
      clientMsgId: m.clientMsgId,
      seq: m.seq,
      stream: m.stream || 'inbox',
      sentAtMs: m.sentAtMs,
      text: m.recalled ? '' : textOf(m),
      status: 'sent',
      edited: false,
      recalled: m.recalled === true,
      ...(m.encryption ? { encryption: m.encryption } : {}),
    };
    this.upsert(m.conversation, entry);
  }

  applyNotice(n: NoticeEntry): void {
    this.upsert(SYSTEM_CONVERSATION, {
      key: `notice/${n.noticeId}`,
      fromUser: n.appId,
      fromDevice: '',
      clientMsgId: n.noticeId,
      seq: n.seq,
      stream: n.stream || 'inbox',
      sentAtMs: n.sentAtMs,
      text: n.body,
      status: 'sent',
      edited: false,
      recalled: false,
      notice: { id: n.noticeId, title: n.title },
    });
  }

  removeNotice(noticeId: string): void {
    const system = this.conversations.get(SYSTEM_CONVERSATION);
    if (!system) return;
    system.entries = system.entries.filter((e) => e.notice?.id !== noticeId);
    this.changed();
  }

  /** A send shown before the server has it. */
  addPending(conversation: string, device: string, clientMsgId: string, text: string): void {
    const entry: ChatEntry = {
      key: entryKey(device, clientMsgId),
      fromUser: this.me,
      fromDevice: device,
      clientMsgId,
      seq: 0,
      stream: 'inbox',
      sentAtMs: Date.now(),
      text,
      status: 'pending',
      edited: false,
      recalled: false,
    };
    this.upsert(conversation, entry);
  }

  setStatus(conversation: string, key: string, status: DeliveryStatus): void {
    const entry = this.find(conversation, key);
    // The delivered copy may have come first: it is sent whatever the send's own answer says later.
    if (entry && entry.status !== 'sent') entry.status = status;
    this.changed();
  }

  find(conversation: string, key: string): ChatEntry | undefined {
    return this.conversations.get(conversation)?.entries.find((e) => e.key === key);
  }

  /** Conversations by latest activity, newest first (empty ones just started count as now). */
  sorted(): Conversation[] {
    const latest = (c: Conversation) => c.entries.at(-1)?.sentAtMs ?? Number.MAX_SAFE_INTEGER;
    return [...this.conversations.values()].sort((a, b) => latest(b) - latest(a));
  }

  /** An entry in place of its pending copy (same key), or at the end. */
  private upsert(conversation: string, entry: ChatEntry): void {
    const c = this.conversation(conversation);
    const at = c.entries.findIndex((e) => e.key === entry.key);
    if (at >= 0) c.entries[at] = entry;
    else c.entries.push(entry);
    this.changed();
  }
}

function textOf(m: ChatMessage): string {
  if (m.encryption && !m.encryption.opened) return '';
  return m.contentType === 'text/plain' ? new TextDecoder().decode(m.body) : `(${m.contentType})`;
}

function defaultTitle(conversation: string, me: string): string {
  if (conversation === SYSTEM_CONVERSATION) return 'Notices';
  if (conversation.startsWith('group:')) return conversation.slice('group:'.length);
  const [, a = '', b = ''] = conversation.split(':');
  return a === me ? b : a;
}
