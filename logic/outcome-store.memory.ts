import type { OutcomeStore, SendOutcome } from './outcome-store.ts';

export class MemoryOutcomeStore implements OutcomeStore {
  private readonly entries = new Map<string, { outcome: SendOutcome; expiresAt: number }>();

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

  async replace(key: string, outcome: SendOutcome): Promise<boolean> {
    const entry = this.entries.get(key);
    if (!(await this.get(key)) || !entry) return false;
    // Map.set on a present key keeps its place, so the sweep's expiry order holds.
    this.entries.set(key, {
      outcome: { ...outcome, done: entry.outcome.done || outcome.done },
      expiresAt: entry.expiresAt,
    });
    return true;
  }

  /**
   * Expired entries go from the front of the map: it iterates in insertion order, which is expiry order for one
   * TTL (a done mark moves an expiry later, never earlier), so a sweep touches only what expired instead of every
   * entry (at 1,000 sends/s a day's TTL holds 86 million). An entry put with a shorter TTL behind a longer one
   * waits for it; `get` checks expiry itself, so that costs memory for a while, never a stale answer.
   */
  private sweep(): void {
    const now = this.now();
    for (const [key, entry] of this.entries) {
      if (entry.expiresAt > now) return;
      this.entries.delete(key);
    }
  }
}
