import {
  byAge,
  compareIds,
  copyDeadLetter,
  DEFAULT_DEAD_LETTER_CAPACITY,
  type DeadLetter,
  type DeadLetterStore,
} from './dead-letter-store.ts';

/** Dead letters in this process's memory (tests, and a server in memory). */
export class MemoryDeadLetterStore implements DeadLetterStore {
  private readonly letters = new Map<string, DeadLetter>();

  constructor(private readonly capacity = DEFAULT_DEAD_LETTER_CAPACITY) {}

  add(letter: DeadLetter): Promise<void> {
    this.letters.set(letter.id, copyDeadLetter(letter));
    // Past capacity the oldest by (atMs, id) goes: a walk over them all, only when full (dead letters are few).
    while (this.letters.size > this.capacity) {
      let oldest: DeadLetter | undefined;
      for (const kept of this.letters.values()) if (!oldest || byAge(kept, oldest) < 0) oldest = kept;
      this.letters.delete(oldest!.id);
    }
    return Promise.resolve();
  }

  list(after: string, limit: number): Promise<{ items: DeadLetter[]; next?: string }> {
    const ids = [...this.letters.keys()].filter((id) => compareIds(id, after) > 0).sort(compareIds);
    const items = ids.slice(0, limit).map((id) => copyDeadLetter(this.letters.get(id)!));
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
