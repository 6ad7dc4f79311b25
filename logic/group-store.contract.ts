import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { GroupStore } from './group-store.ts';

export function groupStoreContract(
  adapter: string,
  setup: () => Promise<{ store: GroupStore; close: () => Promise<void> }>,
): void {
  describe(`GroupStore contract: ${adapter}`, () => {
    let store: GroupStore;
    let close: () => Promise<void>;
    before(async () => ({ store, close } = await setup()));
    after(() => close());
    const newGroup = () => ({ id: randomUUID(), name: 'friends', owner: 'ann', createdAtMs: 1 });

    it('creates a group with its members and reads it back', async () => {
      const g = newGroup();
      await store.create(g, ['ann', 'bob']);
      assert.deepEqual(await store.get(g.id), g);
      assert.deepEqual(await store.members(g.id), ['ann', 'bob']);
      assert.equal(await store.isMember(g.id, 'bob'), true);
      assert.equal(await store.isMember(g.id, 'eve'), false);
      assert.equal(await store.get(randomUUID()), undefined);
    });

    it('adds and removes members idempotently', async () => {
      const g = newGroup();
      await store.create(g, ['ann']);
      assert.equal(await store.addMembers(g.id, ['bob', 'cat']), 3);
      assert.equal(await store.addMembers(g.id, ['bob']), 3);
      assert.equal(await store.removeMembers(g.id, ['cat', 'dan']), 2);
      assert.deepEqual(await store.members(g.id), ['ann', 'bob']);
    });
  });
}
