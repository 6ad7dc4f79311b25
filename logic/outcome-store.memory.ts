import type { OutcomeStore, SendOutcome } from './outcome-store.ts';

export class MemoryOutcomeStore implements OutcomeStore {
  private readonly entries = new Map<string, { outcome: SendOutcome; expiresAt: number }>();
  private sweepAt = 0;

  constructor(private readonly now: () => number = Date.now) {}

  get(key: string): Promise<SendOutcome | undefined> {
    const entry = this.entries.get(key);
    if (entry && entry.expiresAt <= this.now()) this.entries.delete(key);
    return Promise.resolve(this.entries.get(key)?.outcome);
  }

  async putIfAbsent(key: string, outcome: SendOutcome, ttlMs: number): Promise<SendOutcome> {
    this.sweep();
    const existing = await this.get(key);
    if (existing) return existing;
    this.entries.set(key, { outcome, expiresAt: this.now() + ttlMs });
    return outcome;
  }

  markDone(key: string, ttlMs: number): Promise<void> {
    const entry = this.entries.get(key);
    if (entry) this.entries.set(key, { outcome: { ...entry.outcome, done: true }, expiresAt: this.now() + ttlMs });
    return Promise.resolve();
  }

  /** Expired entries go at most once a second, so memory stays bounded by the send rate times the TTL. */
  private sweep(): void {
    const now = this.now();
    if (now < this.sweepAt) return;
    this.sweepAt = now + 1000;
    for (const [key, entry] of this.entries) if (entry.expiresAt <= now) this.entries.delete(key);
  }
}
