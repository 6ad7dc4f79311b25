import type { SeqTermStore } from './seq-term-store.ts';

export class MemorySeqTermStore implements SeqTermStore {
  private term = 1;
  private readonly gen = Date.now();

  generation(): Promise<number> {
    return Promise.resolve(this.gen);
  }

  current(): Promise<number> {
    return Promise.resolve(this.term);
  }

  private used = 0;

  markUsed(term: number): Promise<void> {
    this.used = Math.max(this.used, term);
    return Promise.resolve();
  }

  lastUsed(): Promise<number> {
    return Promise.resolve(this.used);
  }

  advance(seen: number): Promise<number> {
    if (this.term === seen) this.term = seen + 1;
    return Promise.resolve(this.term);
  }
}
