import type { NonceStore } from './nonce-store.ts';

/**
 * Nonces in a Map, for one process. Bounded by what the TTL keeps: each call first drops expired entries from the
 * front of the map (insertion order, close to expiry order since verification's TTLs end at most a window apart),
 * stopping at the first live one, so a call touches only what expired. An expired entry stuck behind a live one
 * waits a little longer in memory; `seen` checks expiry itself, so that never changes an answer.
 */
export class MemoryNonceStore implements NonceStore {
  private readonly expiries = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  /** How many nonces are held (expired ones not yet dropped included). */
  get size(): number {
    return this.expiries.size;
  }

  seen(appId: string, nonce: string, ttlMs: number): Promise<boolean> {
    const now = this.now();
    this.sweep(now);
    const key = `${appId}\n${nonce}`;
    const expiresAt = this.expiries.get(key);
    if (expiresAt !== undefined && expiresAt > now) return Promise.resolve(true);
    // Deleted first, so a pair recorded again moves to the back with its new expiry.
    this.expiries.delete(key);
    this.expiries.set(key, now + Math.ceil(ttlMs));
    return Promise.resolve(false);
  }

  private sweep(now: number): void {
    for (const [key, expiresAt] of this.expiries) {
      if (expiresAt > now) return;
      this.expiries.delete(key);
    }
  }
}
