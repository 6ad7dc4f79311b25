import {
  MAX_UNREAD_PER_CONVERSATION,
  type ConversationUnreadState,
  type TimelineReadRef,
  type UnreadRef,
  type UnreadStore,
} from './unread-store.ts';

interface Conversation {
  readSeq: number;
  unread: Set<number>;
}

export class MemoryUnreadStore implements UnreadStore {
  private readonly users = new Map<string, Map<string, Conversation>>();
  /** user -> conversation -> timeline read marker (stream_index). */
  private readonly timelineReads = new Map<string, Map<string, number>>();

  constructor(private readonly maxPerConversation = MAX_UNREAD_PER_CONVERSATION) {}

  private conversation(user: string, conversation: string): Conversation {
    let convs = this.users.get(user);
    if (!convs) this.users.set(user, (convs = new Map<string, Conversation>()));
    let c = convs.get(conversation);
    if (!c) convs.set(conversation, (c = { readSeq: 0, unread: new Set() }));
    return c;
  }

  arrived(entries: readonly UnreadRef[]): Promise<void> {
    for (const { user, conversation, seq } of entries) {
      const c = this.conversation(user, conversation);
      if (seq <= c.readSeq) continue;
      c.unread.add(seq);
      if (c.unread.size > this.maxPerConversation) c.unread.delete(Math.min(...c.unread));
    }
    return Promise.resolve();
  }

  recalled(entries: readonly UnreadRef[]): Promise<void> {
    for (const { user, conversation, seq } of entries) this.users.get(user)?.get(conversation)?.unread.delete(seq);
    return Promise.resolve();
  }

  markRead({ user, conversation, seq }: UnreadRef): Promise<number> {
    const c = this.conversation(user, conversation);
    c.readSeq = Math.max(c.readSeq, seq);
    for (const s of c.unread) if (s <= c.readSeq) c.unread.delete(s);
    return Promise.resolve(c.unread.size);
  }

  unread(user: string, throughSeq = Number.MAX_SAFE_INTEGER): Promise<ConversationUnreadState[]> {
    const convs = this.users.get(user) ?? new Map<string, Conversation>();
    return Promise.resolve(
      [...convs].map(([conversation, c]) => ({
        conversation,
        unread: [...c.unread].filter((seq) => seq <= throughSeq).length,
        readSeq: c.readSeq,
      })),
    );
  }

  markTimelineRead({ user, conversation, index }: TimelineReadRef): Promise<number> {
    let marks = this.timelineReads.get(user);
    if (!marks) this.timelineReads.set(user, (marks = new Map<string, number>()));
    const marker = Math.max(marks.get(conversation) ?? 0, index);
    marks.set(conversation, marker);
    return Promise.resolve(marker);
  }

  timelineMarks(user: string, conversations: readonly string[]): Promise<number[]> {
    const marks = this.timelineReads.get(user);
    return Promise.resolve(conversations.map((c) => marks?.get(c) ?? 0));
  }
}
