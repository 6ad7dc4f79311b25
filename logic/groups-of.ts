import type { GroupStore } from './group-store.ts';

/** Every group a user is in, paged through the store (what sync needs to find the user's large groups). */
export async function allGroupIdsOf(store: GroupStore, user: string, maxGroups = 10_000): Promise<string[]> {
  const ids: string[] = [];
  let after = '';
  while (ids.length < maxGroups) {
    const page = await store.groupsOf(user, { after, limit: 500 });
    ids.push(...page.items.map((i) => i.group.id));
    if (!page.next) break;
    after = page.next;
  }
  return ids;
}
