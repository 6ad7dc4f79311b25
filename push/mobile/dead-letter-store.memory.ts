import type { DeadLetter, DeadLetterStore } from './dead-letter-store.ts';

/** Dead letters in this process's memory (tests, and a server in memory). */
export class MemoryDeadLetterStore implements DeadLetterStore {
  private readonly letters = new Map<string, DeadLetter>();

  constructor(private readonly capacity = 10_000) {}

  add(letter: DeadLetter): Promise<void> {
    this.letters.delete(letter.id);
    this.letters.set(letter.id, structuredClone(letter));
    for (const id of this.letters.keys()) {
      if (this.letters.size <= this.capacity) break;
      this.letters.delete(id);
    }
    return Promise.resolve();
  }

  list(after: string, limit: number): Promise<{ items: DeadLetter[]; next?: string }> {
    const ids = [...this.letters.keys()].filter((id) => id > after).sort();
    const items = ids.slice(0, limit).map((id) => structuredClone(this.letters.get(id)!));
    return Promise.resolve(ids.length > limit ? { items, next: items.at(-1)!.id } : { items });
  }

  take(ids: readonly string[]): Promise<DeadLetter[]> {
    const taken: DeadLetter[] = [];
    for (const id of ids) {
      const letter = this.letters.get(id);
      if (!letter) continue;
      this.letters.delete(id);
      taken.push(letter);
    }
    return Promise.resolve(taken);
  }
}
