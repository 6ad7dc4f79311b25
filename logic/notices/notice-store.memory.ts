import {
  copyNotice,
  type NoticeCounts,
  type NoticeRecipient,
  type NoticeRecord,
  type NoticeState,
  type NoticeStore,
  type Page,
} from './notice-store.ts';

/** Notices in Maps: the default for tests and a single process without a data directory. */
export class MemoryNoticeStore implements NoticeStore {
  private readonly notices = new Map<string, NoticeRecord>();
  /** `${appId}\n${messageId}` → id. */
  private readonly byMessage = new Map<string, string>();
  private readonly chunkMaps = new Map<string, Map<number, NoticeRecipient[]>>();
  private readonly countMaps = new Map<string, NoticeCounts>();
  private readonly firstDeliveries = new Map<string, number>();

  create(record: NoticeRecord): Promise<{ record: NoticeRecord; created: boolean }> {
    const key = `${record.appId}\n${record.messageId}`;
    const existing = this.byMessage.get(key);
    if (existing !== undefined)
      return Promise.resolve({ record: copyNotice(this.notices.get(existing)!), created: false });
    if (this.notices.has(record.id)) return Promise.reject(new Error(`notice ${record.id} exists`));
    this.notices.set(record.id, copyNotice(record));
    this.byMessage.set(key, record.id);
    return Promise.resolve({ record: copyNotice(record), created: true });
  }

  get(id: string): Promise<NoticeRecord | undefined> {
    const record = this.notices.get(id);
    return Promise.resolve(record && copyNotice(record));
  }

  list(
    appId: string,
    { after, limit, state }: { after: string; limit: number; state?: NoticeState },
  ): Promise<Page<NoticeRecord>> {
    const ids = [...this.notices.values()]
      .filter((n) => n.appId === appId && n.id > after && (state === undefined || n.state === state))
      .map((n) => n.id)
      .sort();
    const items = ids.slice(0, limit).map((id) => copyNotice(this.notices.get(id)!));
    return Promise.resolve(ids.length > limit ? { items, next: ids[limit - 1]! } : { items });
  }

  due(nowMs: number, limit: number): Promise<NoticeRecord[]> {
    const due = [...this.notices.values()].filter(
      (n) => (n.state === 'scheduled' && n.deliverAtMs <= nowMs) || (n.state === 'firing' && n.claimUntilMs <= nowMs),
    );
    due.sort((a, b) => a.deliverAtMs - b.deliverAtMs || compare(a.id, b.id));
    return Promise.resolve(due.slice(0, limit).map(copyNotice));
  }

  claim(id: string, owner: string, nowMs: number, untilMs: number): Promise<NoticeRecord | undefined> {
    const n = this.notices.get(id);
    const free =
      n?.state === 'scheduled' || (n?.state === 'firing' && (n.claimUntilMs <= nowMs || n.claimOwner === owner));
    if (!n || !free) return Promise.resolve(undefined);
    Object.assign(n, { state: 'firing', claimOwner: owner, claimUntilMs: untilMs });
    return Promise.resolve(copyNotice(n));
  }

  markSent(id: string, firedAtMs: number, timelineSeq: number): Promise<boolean> {
    const n = this.notices.get(id);
    if (n?.state !== 'firing') return Promise.resolve(false);
    Object.assign(n, { state: 'sent', firedAtMs, timelineSeq });
    return Promise.resolve(true);
  }

  cancel(id: string, atMs: number): Promise<NoticeRecord | undefined> {
    const n = this.notices.get(id);
    if (!n) return Promise.resolve(undefined);
    const before = copyNotice(n);
    if (n.state !== 'cancelled' && n.state !== 'expired') Object.assign(n, { state: 'cancelled', cancelledAtMs: atMs });
    return Promise.resolve(before);
  }

  expiring(nowMs: number, limit: number): Promise<NoticeRecord[]> {
    const expiring = [...this.notices.values()].filter(
      (n) => (n.state === 'sent' || n.state === 'scheduled') && n.expireAtMs <= nowMs,
    );
    expiring.sort((a, b) => a.expireAtMs - b.expireAtMs || compare(a.id, b.id));
    return Promise.resolve(expiring.slice(0, limit).map(copyNotice));
  }

  markExpired(id: string): Promise<boolean> {
    const n = this.notices.get(id);
    if (n?.state !== 'sent' && n?.state !== 'scheduled') return Promise.resolve(false);
    n.state = 'expired';
    return Promise.resolve(true);
  }

  putChunk(id: string, index: number, recipients: readonly NoticeRecipient[]): Promise<NoticeRecipient[]> {
    let chunks = this.chunkMaps.get(id);
    if (!chunks) this.chunkMaps.set(id, (chunks = new Map<number, NoticeRecipient[]>()));
    let stored = chunks.get(index);
    if (!stored) chunks.set(index, (stored = recipients.map(({ user, seq }) => ({ user, seq }))));
    return Promise.resolve(copyChunk(stored));
  }

  replaceChunk(id: string, index: number, recipients: readonly NoticeRecipient[]): Promise<void> {
    const chunks = this.chunkMaps.get(id);
    if (chunks?.has(index)) chunks.set(index, copyChunk(recipients));
    return Promise.resolve();
  }

  chunks(id: string): Promise<NoticeRecipient[][]> {
    const chunks = [...(this.chunkMaps.get(id) ?? new Map<number, NoticeRecipient[]>())];
    chunks.sort(([a], [b]) => a - b);
    return Promise.resolve(chunks.map(([, chunk]) => copyChunk(chunk)));
  }

  addCounts(id: string, delta: Partial<NoticeCounts>): Promise<void> {
    const counts = this.countMaps.get(id) ?? zeroCounts();
    this.countMaps.set(id, {
      targeted: counts.targeted + (delta.targeted ?? 0),
      stored: counts.stored + (delta.stored ?? 0),
      delivered: counts.delivered + (delta.delivered ?? 0),
      read: counts.read + (delta.read ?? 0),
    });
    return Promise.resolve();
  }

  counts(id: string): Promise<NoticeCounts> {
    return Promise.resolve({ ...(this.countMaps.get(id) ?? zeroCounts()) });
  }

  noteFirstDelivery(id: string, ms: number): Promise<void> {
    if (!this.firstDeliveries.has(id)) this.firstDeliveries.set(id, ms);
    return Promise.resolve();
  }

  firstDelivery(id: string): Promise<number> {
    return Promise.resolve(this.firstDeliveries.get(id) ?? 0);
  }
}

function zeroCounts(): NoticeCounts {
  return { targeted: 0, stored: 0, delivered: 0, read: 0 };
}

function copyChunk(chunk: readonly NoticeRecipient[]): NoticeRecipient[] {
  return chunk.map((r) => ({ ...r }));
}

/** Ids are ASCII, so JS order is byte order: the order every adapter sorts by. */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
