import type { Message } from '../proto/gen/im/v1/message.pb.ts';

const SEEN_IDS_KEPT = 10_000;

/** Whether `m` comes right after `lastSeq` in its stream (the inbox counts up by one; group timelines name it). */
export type Follows = (m: Message, lastSeq: number) => boolean;

export const inboxFollows: Follows = (m, lastSeq) => m.seq === lastSeq + 1;
export const timelineFollows: Follows = (m, lastSeq) => m.prevSeq === lastSeq;

/**
 * Turns what arrives on one stream (live deliveries in any order, sync pages, duplicates) into what the app
 * shows: each message once, in seq order. Live messages after a gap wait until a sync fills it (seqs may have
 * real gaps, which only a sync can prove).
 */
export class InboxOrder {
  private readonly waiting = new Map<number, Message>();
  private readonly seen = new Set<string>();

  /** `lastSeq`: the highest inbox seq already shown; `known` false until a sync has told us where we stand. */
  constructor(
    public lastSeq = 0,
    private known = false,
    private readonly follows: Follows = inboxFollows,
  ) {}

  get hasWaiting(): boolean {
    return this.waiting.size > 0;
  }

  /** Live messages: returns those ready to show; `needSync` when one waits behind a gap. */
  delivered(messages: readonly Message[]): { ready: Message[]; needSync: boolean } {
    for (const m of messages) if (m.seq > this.lastSeq && !this.seen.has(m.serverMsgId)) this.waiting.set(m.seq, m);
    if (!this.known) return { ready: [], needSync: this.waiting.size > 0 };
    const ready = this.drain();
    return { ready, needSync: this.waiting.size > 0 };
  }

  /** A sync page: the server's truth up to `inboxSeq`. After a reset, start over from the page. */
  synced(messages: readonly Message[], inboxSeq: number, reset: boolean): Message[] {
    if (reset) {
      this.lastSeq = 0;
      this.waiting.clear();
    }
    const ready: Message[] = [];
    for (const m of messages) {
      if (m.seq > this.lastSeq && this.remember(m)) ready.push(m);
      this.lastSeq = Math.max(this.lastSeq, m.seq);
    }
    this.lastSeq = Math.max(this.lastSeq, inboxSeq);
    this.known = true;
    return [...ready, ...this.drain()];
  }

  private drain(): Message[] {
    const ready: Message[] = [];
    for (const seq of [...this.waiting.keys()].sort((a, b) => a - b)) {
      if (seq <= this.lastSeq) {
        this.waiting.delete(seq);
        continue;
      }
      const m = this.waiting.get(seq)!;
      if (!this.follows(m, this.lastSeq)) break;
      this.waiting.delete(seq);
      this.lastSeq = seq;
      if (this.remember(m)) ready.push(m);
    }
    return ready;
  }

  /** False for a server_msg_id shown before (a second guard, e.g. across a reset). */
  private remember(m: Message): boolean {
    if (this.seen.has(m.serverMsgId)) return false;
    this.seen.add(m.serverMsgId);
    if (this.seen.size > SEEN_IDS_KEPT) this.seen.delete(this.seen.values().next().value!);
    return true;
  }
}
