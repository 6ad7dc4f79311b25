import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { UnreadStore } from './unread-store.ts';

/** The behaviour every UnreadStore adapter promises; `maxPerConversation` of the store under test must be 5. */
export function unreadStoreContract(
  adapter: string,
  setup: () => Promise<{ store: UnreadStore; close: () => Promise<void> }>,
): void {
  describe(`UnreadStore contract: ${adapter}`, () => {
    let store: UnreadStore;
    let close: () => Promise<void>;
    before(async () => ({ store, close } = await setup()));
    after(() => close());
    const user = () => `u-${randomUUID()}`;
    const counts = async (u: string) =>
      Object.fromEntries((await store.unread(u)).map((c) => [c.conversation, [c.unread, c.readSeq]]));

    it('counts arrivals once per seq, per conversation', async () => {
      const u = user();
      await store.arrived([
        { user: u, conversation: 'dm:a:b', seq: 1 },
        { user: u, conversation: 'dm:a:b', seq: 2 },
        { user: u, conversation: 'group:g', seq: 3 },
      ]);
      await store.arrived([{ user: u, conversation: 'dm:a:b', seq: 2 }]);
      assert.deepEqual(await counts(u), { 'dm:a:b': [2, 0], 'group:g': [1, 0] });
    });

    it('marks read up to a seq, never backwards, and returns what is left', async () => {
      const u = user();
      const c = 'dm:a:b';
      await store.arrived([1, 2, 3, 4].map((seq) => ({ user: u, conversation: c, seq })));
      assert.equal(await store.markRead({ user: u, conversation: c, seq: 2 }), 2);
      assert.equal(await store.markRead({ user: u, conversation: c, seq: 1 }), 2);
      assert.deepEqual(await counts(u), { [c]: [2, 2] });
      await store.arrived([{ user: u, conversation: c, seq: 2 }]); // a late write below the marker
      assert.equal(await store.markRead({ user: u, conversation: c, seq: 4 }), 0);
      assert.deepEqual(await counts(u), { [c]: [0, 4] });
    });

    it('counts only up to a seq when asked (what a sync page covers)', async () => {
      const u = user();
      await store.arrived([3, 7, 9].map((seq) => ({ user: u, conversation: 'dm:a:c', seq })));
      assert.deepEqual(
        (await store.unread(u, 7)).map((c) => c.unread),
        [2],
      );
    });

    it('stops counting a recalled message', async () => {
      const u = user();
      await store.arrived([5, 6].map((seq) => ({ user: u, conversation: 'dm:x:y', seq })));
      await store.recalled([{ user: u, conversation: 'dm:x:y', seq: 5 }]);
      assert.deepEqual(await counts(u), { 'dm:x:y': [1, 0] });
    });

    it('keeps at most the newest entries of a conversation', async () => {
      const u = user();
      await store.arrived(Array.from({ length: 8 }, (_, i) => ({ user: u, conversation: 'dm:p:q', seq: i + 1 })));
      assert.deepEqual(await counts(u), { 'dm:p:q': [5, 0] });
      assert.equal(await store.markRead({ user: u, conversation: 'dm:p:q', seq: 6 }), 2);
    });

    it('keeps timeline read markers per large group, never moving back', async () => {
      const u = user();
      assert.equal(await store.markTimelineRead({ user: u, conversation: 'group:big', index: 7 }), 7);
      assert.equal(await store.markTimelineRead({ user: u, conversation: 'group:big', index: 3 }), 7);
      assert.equal(await store.markTimelineRead({ user: u, conversation: 'group:huge', index: 2 ** 33 }), 2 ** 33);
      assert.deepEqual(await store.timelineMarks(u, ['group:huge', 'group:none', 'group:big']), [2 ** 33, 0, 7]);
      assert.deepEqual(await store.timelineMarks(user(), []), []);
      // Timeline markers are not inbox unread state.
      assert.deepEqual(await counts(u), {});
    });
  });
}
