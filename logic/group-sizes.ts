import { LRUCache } from 'lru-cache';
import type { GroupStore } from './group-store.ts';

export interface GroupSizesOptions {
  /** How long a count read from the store is used. Default 2 s. */
  ttlMs?: number;
  /** Groups remembered at most. Default 100 000. */
  max?: number;
}

/**
 * Member counts for ListRooms, which every new connection asks for: in a reconnect storm thousands of users of the
 * same few groups connect at once, and each would read the same count rows again. A count is read once per group
 * (concurrent misses share the read) and used for `ttlMs`; the changes this process makes update it at once.
 * A change made by another logic process shows after `ttlMs` at most; rooms are an accelerator (a member who
 * missed a room notices the prev_seq gap and syncs), so that bound is enough.
 */
export class GroupSizes {
  private readonly counts: LRUCache<string, number>;

  constructor(store: Pick<GroupStore, 'count'>, options: GroupSizesOptions = {}) {
    this.counts = new LRUCache<string, number>({
      max: options.max ?? 100_000,
      ttl: options.ttlMs ?? 2_000,
      fetchMethod: (groupId) => store.count(groupId),
    });
  }

  async count(groupId: string): Promise<number> {
    return (await this.counts.fetch(groupId)) ?? 0;
  }

  /** What a change of this process left the group at. */
  changed(groupId: string, count: number): void {
    this.counts.set(groupId, count);
  }
}
