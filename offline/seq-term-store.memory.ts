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

  advance(seen: number): Promise<number> {
    if (this.term === seen) this.term = seen + 1;
    return Promise.resolve(this.term);
  }
}
