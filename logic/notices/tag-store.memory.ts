import type { TagStore, UserTag } from './tag-store.ts';

/** Tags in Maps, indexed both ways: the default for tests and a single process without a data directory. */
export class MemoryTagStore implements TagStore {
  /** `${appId}:${tag}` → user → sinceMs. */
  private readonly carriers = new Map<string, Map<string, number>>();
  /** user → `${appId}:${tag}` → the tag. */
  private readonly tagsByUser = new Map<string, Map<string, UserTag>>();

  tag(appId: string, tag: string, users: readonly string[], atMs: number): Promise<number> {
    const key = `${appId}:${tag}`;
    let carriers = this.carriers.get(key);
    if (!carriers) this.carriers.set(key, (carriers = new Map<string, number>()));
    let added = 0;
    for (const user of users) {
      if (carriers.has(user)) continue;
      carriers.set(user, atMs);
      let tags = this.tagsByUser.get(user);
      if (!tags) this.tagsByUser.set(user, (tags = new Map<string, UserTag>()));
      tags.set(key, { appId, tag, sinceMs: atMs });
      added++;
    }
    return Promise.resolve(added);
  }

  untag(appId: string, tag: string, users: readonly string[]): Promise<number> {
    const key = `${appId}:${tag}`;
    const carriers = this.carriers.get(key);
    let removed = 0;
    for (const user of users) {
      if (!carriers?.delete(user)) continue;
      const tags = this.tagsByUser.get(user)!;
      tags.delete(key);
      if (tags.size === 0) this.tagsByUser.delete(user);
      removed++;
    }
    if (carriers?.size === 0) this.carriers.delete(key);
    return Promise.resolve(removed);
  }

  tagsOf(user: string): Promise<UserTag[]> {
    const tags = [...(this.tagsByUser.get(user)?.values() ?? [])].map((t) => ({ ...t }));
    tags.sort((a, b) => compare(a.appId, b.appId) || compare(a.tag, b.tag));
    return Promise.resolve(tags);
  }

  count(appId: string, tag: string): Promise<number> {
    return Promise.resolve(this.carriers.get(`${appId}:${tag}`)?.size ?? 0);
  }

  usersOf(
    appId: string,
    tag: string,
    { after, limit }: { after: string; limit: number },
  ): Promise<{ items: string[]; next?: string }> {
    const users = [...(this.carriers.get(`${appId}:${tag}`)?.keys() ?? [])].filter((user) => user > after);
    users.sort(compare);
    const items = users.slice(0, limit);
    return Promise.resolve(users.length > limit ? { items, next: items.at(-1)! } : { items });
  }
}

/** App ids and tags are ASCII, so JS order is byte order: the order every adapter sorts by. */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
