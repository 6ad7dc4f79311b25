import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { byConversation, MUTED_FOREVER, type MuteStore } from './mute-store.ts';

/**
 * The MuteStore contract. Users are fresh per test, because Cassandra keeps its rows and is shared with whoever else
 * runs tests.
 */
export function muteStoreContract(
  adapter: string,
  setup: () => Promise<{ store: MuteStore; close: () => Promise<void> }>,
): void {
  describe(`MuteStore contract: ${adapter}`, () => {
    let store: MuteStore;
    let close: () => Promise<void>;
    before(async () => ({ store, close } = await setup()));
    after(() => close());
    const run = randomUUID().slice(0, 8);
    let made = 0;
    /** Fresh user names for one test: user('ann') is `ann-<run>-<n>`. */
    const fresh = () => {
      const n = ++made;
      return (name: string) => `${name}-${run}-${n}`;
    };
    /** Sets many, a few at a time (as many clients would). */
    const setAll = async (mutes: readonly [user: string, conversation: string, untilMs: number][]) => {
      for (let i = 0; i < mutes.length; i += 32)
        await Promise.all(mutes.slice(i, i + 32).map(([u, c, until]) => store.set(u, c, until)));
    };
    const muted = async (user: string, conversation: string, nowMs: number) =>
      (await store.mutedOf([{ user, conversation }], nowMs))[0];

    it('mutes a conversation and unmutes it (untilMs 0)', async () => {
      const user = fresh();
      const ann = user('ann');
      assert.equal(await muted(ann, 'g:1', 1_000), false);
      await store.set(ann, 'g:1', MUTED_FOREVER);
      assert.equal(await muted(ann, 'g:1', 1_000), true);
      assert.deepEqual(await store.ofUser(ann, 1_000), [{ conversation: 'g:1', untilMs: MUTED_FOREVER }]);
      // Another user's same conversation, and another conversation of Ann's, are not muted.
      assert.equal(await muted(user('bob'), 'g:1', 1_000), false);
      assert.equal(await muted(ann, 'g:2', 1_000), false);

      await store.set(ann, 'g:1', 0);
      assert.equal(await muted(ann, 'g:1', 1_000), false);
      assert.deepEqual(await store.ofUser(ann, 1_000), []);
      // Unmuting what is not muted is harmless; muting again works.
      await store.set(ann, 'g:1', 0);
      await store.set(ann, 'never-muted', 0);
      assert.deepEqual(await store.ofUser(ann, 1_000), []);
      await store.set(ann, 'g:1', 5_000);
      assert.deepEqual(await store.ofUser(ann, 1_000), [{ conversation: 'g:1', untilMs: 5_000 }]);
    });

    it('counts a mute until its untilMs, by the nowMs asked at', async () => {
      const user = fresh();
      const ann = user('ann');
      await store.set(ann, 'g:1', 2_000);
      assert.equal(await muted(ann, 'g:1', 0), true);
      assert.equal(await muted(ann, 'g:1', 1_999), true);
      assert.equal(await muted(ann, 'g:1', 2_000), false);
      assert.equal(await muted(ann, 'g:1', 3_000), false);
      assert.deepEqual(await store.ofUser(ann, 1_999), [{ conversation: 'g:1', untilMs: 2_000 }]);
      assert.deepEqual(await store.ofUser(ann, 2_000), []);

      // Until unmuted: muted at any time, today's included.
      await store.set(ann, 'g:2', MUTED_FOREVER);
      for (const nowMs of [0, Date.now(), MUTED_FOREVER - 1]) assert.equal(await muted(ann, 'g:2', nowMs), true);
      assert.deepEqual(await store.ofUser(ann, Date.now()), [{ conversation: 'g:2', untilMs: MUTED_FOREVER }]);
    });

    it('answers many pairs in the order asked: unknown users, repeats, many users and many conversations of one', async () => {
      const user = fresh();
      const many = user('many');
      const users = Array.from({ length: 150 }, (_, i) => user(`u${i}`));
      // Every other user muted the group; `many` muted every third of 250 conversations; one mute expired.
      await setAll([
        ...users.filter((_, i) => i % 2 === 0).map((u): [string, string, number] => [u, 'g:big', MUTED_FOREVER]),
        ...Array.from({ length: 250 }, (_, i) => i)
          .filter((i) => i % 3 === 0)
          .map((i): [string, string, number] => [many, `c${i}`, 10_000 + i]),
        [users[1]!, 'g:big', 500],
      ]);
      const pairs: { user: string; conversation: string }[] = [];
      const expected: boolean[] = [];
      const ask = (u: string, conversation: string, answer: boolean) => {
        pairs.push({ user: u, conversation });
        expected.push(answer);
      };
      for (let i = 0; i < 250; i++) {
        if (i < users.length) ask(users[i]!, 'g:big', i % 2 === 0);
        ask(many, `c${i}`, i % 3 === 0);
        if (i % 50 === 0) ask(user(`nobody${i}`), 'g:big', false);
      }
      // Repeats, a conversation of another's, and an empty batch.
      ask(users[0]!, 'g:big', true);
      ask(many, 'c0', true);
      ask(many, 'g:big', false);
      ask(users[0]!, 'c0', false);
      ask(users[0]!, 'g:big', true);
      assert.deepEqual(await store.mutedOf(pairs, 1_000), expected);
      assert.deepEqual(await store.mutedOf([], 1_000), []);
      // Later, `many`'s mutes have run out and the group's have not.
      const later = await store.mutedOf(pairs, 20_000);
      assert.deepEqual(
        later,
        pairs.map((p, i) => (p.user === many ? false : expected[i])),
      );
    });

    it("lists a user's mutes sorted by conversation (JS string order), leaving out expired ones and others'", async () => {
      const user = fresh();
      const [ann, bob] = [user('ann'), user('bob')];
      // In UTF-8 byte order '\uFF5E' comes before an emoji (a surrogate pair in JS), and 'B' before 'a' either way.
      const names = ['g:\u{1F600}', 'g:\uFF5E', 'g:b', 'g:B', 'g:a', 'u:ann', 'g:a2'];
      await setAll(names.map((c, i): [string, string, number] => [ann, c, 5_000 + i]));
      await setAll([
        [ann, 'expired', 1_500],
        [ann, 'ends-now', 2_000],
        [ann, 'unmuted', 9_000],
        [bob, 'g:bob', MUTED_FOREVER],
      ]);
      // After its mute, never at once with it: which of two concurrent sets of a pair wins is not the port's.
      await store.set(ann, 'unmuted', 0);
      const sorted = names.map((c, i) => ({ conversation: c, untilMs: 5_000 + i })).sort(byConversation);
      assert.deepEqual(
        sorted.map((m) => m.conversation),
        ['g:B', 'g:a', 'g:a2', 'g:b', 'g:\u{1F600}', 'g:\uFF5E', 'u:ann'],
      );
      assert.deepEqual(await store.ofUser(ann, 2_000), sorted);
      assert.deepEqual(
        await store.ofUser(ann, 1_000),
        [...sorted, { conversation: 'ends-now', untilMs: 2_000 }, { conversation: 'expired', untilMs: 1_500 }].sort(
          byConversation,
        ),
      );
      assert.deepEqual(
        await store.ofUser(ann, 5_003),
        sorted.filter((m) => m.untilMs > 5_003),
      );
      assert.deepEqual(await store.ofUser(user('nobody'), 0), []);
      // Each call's list is the caller's own.
      (await store.ofUser(ann, 2_000)).pop()!.untilMs = 1;
      assert.deepEqual(await store.ofUser(ann, 2_000), sorted);
    });

    it('replaces a mute with the next set: longer, shorter, forever, unmuted and muted again', async () => {
      const user = fresh();
      const ann = user('ann');
      await store.set(ann, 'g:1', 5_000);
      await store.set(ann, 'g:1', 8_000);
      assert.deepEqual(await store.ofUser(ann, 0), [{ conversation: 'g:1', untilMs: 8_000 }]);
      // Shorter: a later set wins even when it ends sooner.
      await store.set(ann, 'g:1', 3_000);
      assert.equal(await muted(ann, 'g:1', 4_000), false);
      assert.deepEqual(await store.ofUser(ann, 0), [{ conversation: 'g:1', untilMs: 3_000 }]);
      // An expired mute set again is muted again.
      await store.set(ann, 'g:1', MUTED_FOREVER);
      assert.equal(await muted(ann, 'g:1', 4_000), true);
      await store.set(ann, 'g:1', 0);
      await store.set(ann, 'g:1', 6_000);
      assert.deepEqual(await store.ofUser(ann, 4_000), [{ conversation: 'g:1', untilMs: 6_000 }]);
      assert.equal(await muted(ann, 'g:1', 4_000), true);
    });

    it("keeps every conversation's mute when a user sets many at once", async () => {
      const user = fresh();
      const ann = user('ann');
      const conversations = Array.from({ length: 40 }, (_, i) => `g:${String(i).padStart(2, '0')}`);
      await Promise.all(conversations.map((c, i) => store.set(ann, c, 10_000 + i)));
      assert.deepEqual(
        await store.ofUser(ann, 0),
        conversations.map((c, i) => ({ conversation: c, untilMs: 10_000 + i })),
      );
      assert.deepEqual(
        await store.mutedOf(
          conversations.map((c) => ({ user: ann, conversation: c })),
          10_020,
        ),
        conversations.map((_, i) => i > 20),
      );
    });
  });
}
