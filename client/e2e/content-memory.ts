import type { KnownContent } from './state.ts';

/**
 * A bounded list of content by id (kept in the device's state, oldest first) with an index for lookups. The oldest
 * tenth goes at once when full, so adding stays O(1) on average.
 */
export class ContentMemory {
  private readonly index = new Map<string, KnownContent>();

  constructor(
    private readonly list: KnownContent[],
    private readonly kept: number,
  ) {
    for (const c of list) this.index.set(c.id, c);
  }

  get(id: string): KnownContent | undefined {
    return this.index.get(id);
  }

  add(content: KnownContent): void {
    this.list.push(content);
    this.index.set(content.id, content);
    if (this.list.length <= this.kept) return;
    for (const old of this.list.splice(0, Math.ceil(this.kept / 10))) {
      if (this.index.get(old.id) === old) this.index.delete(old.id);
    }
  }
}
