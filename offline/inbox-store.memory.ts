import type { Message } from '../proto/gen/im/v1/message.pb.ts';
import {
  encodePage,
  tombstone,
  type EncodedInboxPage,
  type InboxPage,
  type InboxRef,
  type InboxStore,
} from './inbox-store.ts';

interface Inbox {
  /** Ascending; parallel to `messages`. */
  seqs: number[];
  messages: Message[];
  floorSeq: number;
}

/** First index whose seq is greater than `seq`. */
function upperBound(seqs: readonly number[], seq: number): number {
  let lo = 0;
  let hi = seqs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (seqs[mid]! <= seq) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** In-process inbox: keeps the newest `retainedPerUser` entries of each user. */
export class MemoryInboxStore implements InboxStore {
  private readonly inboxes = new Map<string, Inbox>();
  private readonly cursors = new Map<string, number>();

  constructor(private readonly retainedPerUser = 20_000) {}

  write(entries: readonly { user: string; message: Message }[]): Promise<void> {
    for (const { user, message } of entries) {
      let inbox = this.inboxes.get(user);
      if (!inbox) this.inboxes.set(user, (inbox = { seqs: [], messages: [], floorSeq: 0 }));
      if (message.seq <= inbox.floorSeq) continue;
      const at = upperBound(inbox.seqs, message.seq);
      if (at > 0 && inbox.seqs[at - 1] === message.seq) {
        inbox.messages[at - 1] = message;
        continue;
      }
      inbox.seqs.splice(at, 0, message.seq);
      inbox.messages.splice(at, 0, message);
      const excess = inbox.seqs.length - this.retainedPerUser;
      if (excess > 0) {
        inbox.floorSeq = inbox.seqs[excess - 1]!;
        inbox.seqs.splice(0, excess);
        inbox.messages.splice(0, excess);
      }
    }
    return Promise.resolve();
  }

  read(user: string, afterSeq: number, limit: number, beforeSeq = Infinity): Promise<InboxPage> {
    const inbox = this.inboxes.get(user);
    if (!inbox) return Promise.resolve({ messages: [], hasMore: false, floorSeq: 0 });
    const from = upperBound(inbox.seqs, afterSeq);
    const to = Math.min(upperBound(inbox.seqs, beforeSeq - 1), from + limit);
    const endOfVisible = upperBound(inbox.seqs, beforeSeq - 1);
    return Promise.resolve({
      messages: inbox.messages.slice(from, to),
      hasMore: to < endOfVisible,
      floorSeq: inbox.floorSeq,
    });
  }

  /** The head hint is not needed here: the memory adapter has no index to skip. */
  async readEncoded(user: string, afterSeq: number, limit: number, beforeSeq = Infinity): Promise<EncodedInboxPage> {
    return encodePage(await this.read(user, afterSeq, limit, beforeSeq));
  }

  redact(entries: readonly InboxRef[]): Promise<void> {
    for (const { user, seq } of entries) {
      const inbox = this.inboxes.get(user);
      const at = inbox ? upperBound(inbox.seqs, seq) - 1 : -1;
      if (inbox && at >= 0 && inbox.seqs[at] === seq) inbox.messages[at] = tombstone(inbox.messages[at]!);
    }
    return Promise.resolve();
  }

  remove(entries: readonly InboxRef[]): Promise<void> {
    for (const { user, seq } of entries) {
      const inbox = this.inboxes.get(user);
      const at = inbox ? upperBound(inbox.seqs, seq) - 1 : -1;
      if (!inbox || at < 0 || inbox.seqs[at] !== seq) continue;
      inbox.seqs.splice(at, 1);
      inbox.messages.splice(at, 1);
    }
    return Promise.resolve();
  }

  ack(user: string, device: string, seq: number): Promise<void> {
    const key = `${user}\n${device}`;
    this.cursors.set(key, Math.max(this.cursors.get(key) ?? 0, seq));
    return Promise.resolve();
  }

  cursor(user: string, device: string): Promise<number> {
    return Promise.resolve(this.cursors.get(`${user}\n${device}`) ?? 0);
  }

  async *scan(): AsyncIterable<{ user: string; message: Message }> {
    for (const [user, inbox] of [...this.inboxes]) {
      for (const message of [...inbox.messages]) yield { user, message };
      await Promise.resolve();
    }
  }
}
