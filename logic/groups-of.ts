import type { GroupStore } from './group-store.ts';

/** The ids of every group a user is in, paged through the store's per-user index (sync and rooms need no more). */
export async function allGroupIdsOf(store: GroupStore, user: string, maxGroups = 10_000): Promise<string[]> {
  const ids: string[] = [];
  let after = '';
  while (ids.length < maxGroups) {
    const page = await store.groupIdsOf(user, { after, limit: 500 });
    ids.push(...page.items);
    if (!page.next) break;
    after = page.next;
  }
  return ids;
}
