import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Group, GroupStore } from './group-store.ts';

/**
 * The GroupStore contract. User and group ids are fresh per run (the Cassandra keyspace is shared with whoever
 * else runs tests, and keeps its rows), and group ids sort by creation like the ULIDs the product uses.
 */
export function groupStoreContract(
  adapter: string,
  setup: () => Promise<{ store: GroupStore; close: () => Promise<void> }>,
): void {
  describe(`GroupStore contract: ${adapter}`, () => {
    let store: GroupStore;
    let close: () => Promise<void>;
    before(async () => ({ store, close } = await setup()));
    after(() => close());
    const run = randomUUID().slice(0, 8);
    let made = 0;
    /** Fresh user ids for one test: u('ann') is `ann-<run>-<n>`. */
    const users = () => {
      const n = ++made;
      return (name: string) => `${name}-${run}-${n}`;
    };
    /** Group ids that sort in creation order within this run. */
    const newGroup = (owner: string): Group => ({
      id: `g${run}-${String(++made).padStart(6, '0')}`,
      name: 'friends',
      owner,
      createdAtMs: 1,
    });

    it('creates a group with its members and reads it back', async () => {
      const u = users();
      const g = newGroup(u('ann'));
      await store.create(g, [u('ann'), u('bob')]);
      assert.deepEqual(await store.get(g.id), g);
      assert.deepEqual(await store.members(g.id), [u('ann'), u('bob')]);
      assert.equal(await store.isMember(g.id, u('bob')), true);
      assert.equal(await store.isMember(g.id, u('eve')), false);
      assert.equal(await store.count(g.id), 2);
      assert.equal(await store.get(randomUUID()), undefined);
      assert.equal(await store.count(randomUUID()), 0);
    });

    it('adds and removes members idempotently', async () => {
      const u = users();
      const g = newGroup(u('ann'));
      await store.create(g, [u('ann')]);
      assert.equal(await store.addMembers(g.id, [u('bob'), u('cat')]), 3);
      assert.equal(await store.addMembers(g.id, [u('bob')]), 3);
      assert.equal(await store.removeMembers(g.id, [u('cat'), u('dan')]), 2);
      assert.deepEqual(await store.members(g.id), [u('ann'), u('bob')]);
      // count agrees with what the changes returned (the Cassandra adapter keeps it in its own table).
      assert.equal(await store.count(g.id), 2);
    });

    it('keeps count right through concurrent changes', async () => {
      const u = users();
      const g = newGroup(u('ann'));
      await store.create(g, [u('ann')]);
      const names = Array.from({ length: 20 }, (_, i) => u(`m${i}`));
      await Promise.all(names.map((name) => store.addMembers(g.id, [name])));
      assert.equal(await store.count(g.id), 21);
      await Promise.all(names.slice(0, 5).map((name) => store.removeMembers(g.id, [name])));
      assert.equal(await store.count(g.id), 16);
    });

    it('derives the owner from the group, stores admin/member, and keeps a role across a repeated add', async () => {
      const u = users();
      const g = newGroup(u('ann'));
      await store.create(g, [u('ann'), u('bob'), u('cat')]);
      const roles = (...names: string[]) => store.roles(g.id, names.map(u));
      assert.deepEqual(
        await roles('ann', 'bob', 'eve'),
        new Map([
          [u('ann'), 'owner'],
          [u('bob'), 'member'],
        ]),
      );
      assert.equal(await store.setRole(g.id, u('bob'), 'admin'), true);
      await store.addMembers(g.id, [u('bob')]);
      assert.equal((await roles('bob')).get(u('bob')), 'admin');
      assert.equal(await store.setRole(g.id, u('bob'), 'member'), true);
      assert.equal((await roles('bob')).get(u('bob')), 'member');
      // A role change never makes a member of someone who is not one.
      assert.equal(await store.setRole(g.id, u('eve'), 'admin'), false);
      assert.equal(await store.isMember(g.id, u('eve')), false);
      assert.deepEqual(await store.members(g.id), [u('ann'), u('bob'), u('cat')]);
      assert.deepEqual(await store.roles(g.id, []), new Map());
      assert.deepEqual(await store.roles(randomUUID(), [u('ann')]), new Map());
    });

    it('forgets the role of a removed member: back in, they are a plain member', async () => {
      const u = users();
      const g = newGroup(u('ann'));
      await store.create(g, [u('ann'), u('bob')]);
      await store.setRole(g.id, u('bob'), 'admin');
      await store.removeMembers(g.id, [u('bob')]);
      assert.deepEqual(await store.roles(g.id, [u('bob')]), new Map());
      await store.addMembers(g.id, [u('bob')]);
      assert.equal((await store.roles(g.id, [u('bob')])).get(u('bob')), 'member');
    });

    it('pages members in user id order with roles, and the pages add up to the whole list', async () => {
      const u = users();
      const g = newGroup(u('m05'));
      const all = Array.from({ length: 11 }, (_, i) => u(`m${String(i).padStart(2, '0')}`));
      await store.create(g, [...all].reverse());
      await store.setRole(g.id, u('m07'), 'admin');
      const seen: { user: string; role: string }[] = [];
      let after = '';
      let pages = 0;
      for (;;) {
        const page = await store.listMembers(g.id, { after, limit: 4 });
        pages++;
        assert.ok(page.items.length <= 4);
        seen.push(...page.items);
        if (page.next === undefined) break;
        assert.equal(page.next, page.items.at(-1)!.user);
        after = page.next;
      }
      assert.equal(pages, 3);
      assert.deepEqual(
        seen.map((m) => m.user),
        all,
      );
      assert.deepEqual(
        seen.filter((m) => m.role !== 'member'),
        [
          { user: u('m05'), role: 'owner' },
          { user: u('m07'), role: 'admin' },
        ],
      );
      // Exactly one page's worth: no next page.
      const exact = await store.listMembers(g.id, { after: u('m06'), limit: 4 });
      assert.deepEqual(
        exact.items.map((m) => m.user),
        all.slice(7),
      );
      assert.equal(exact.next, undefined);
      await assert.rejects(store.listMembers(randomUUID(), { after: '', limit: 4 }));
    });

    it('transfers ownership by compare-and-set; the previous owner becomes an admin', async () => {
      const u = users();
      const g = newGroup(u('ann'));
      await store.create(g, [u('ann'), u('bob')]);
      assert.equal(await store.transferOwnership(g.id, u('bob'), u('bob')), false);
      assert.equal((await store.get(g.id))!.owner, u('ann'));
      assert.equal(await store.transferOwnership(g.id, u('ann'), u('bob')), true);
      assert.equal((await store.get(g.id))!.owner, u('bob'));
      assert.deepEqual(
        await store.roles(g.id, [u('ann'), u('bob')]),
        new Map([
          [u('ann'), 'admin'],
          [u('bob'), 'owner'],
        ]),
      );
      assert.equal(await store.transferOwnership(g.id, u('ann'), u('ann')), false);
    });

    it('lists the groups a user is in, paged in group id order, with their role in each', async () => {
      const u = users();
      const groups = [newGroup(u('ann')), newGroup(u('bob')), newGroup(u('bob')), newGroup(u('bob'))];
      for (const g of groups) await store.create(g, [g.owner, u('ann'), u('bob')]);
      await store.setRole(groups[1]!.id, u('ann'), 'admin');
      const first = await store.groupsOf(u('ann'), { after: '', limit: 3 });
      assert.deepEqual(
        first.items.map(({ group, role }) => [group.id, role]),
        [
          [groups[0]!.id, 'owner'],
          [groups[1]!.id, 'admin'],
          [groups[2]!.id, 'member'],
        ],
      );
      assert.deepEqual(first.items[0]!.group, groups[0]);
      assert.equal(first.next, groups[2]!.id);
      const second = await store.groupsOf(u('ann'), { after: first.next ?? '', limit: 3 });
      assert.deepEqual(
        second.items.map(({ group }) => group.id),
        [groups[3]!.id],
      );
      assert.equal(second.next, undefined);
      await store.removeMembers(groups[0]!.id, [u('bob')]);
      const bobs = await store.groupsOf(u('bob'), { after: '', limit: 10 });
      assert.deepEqual(
        bobs.items.map(({ group }) => group.id),
        groups.slice(1).map((g) => g.id),
      );
      assert.deepEqual(await store.groupsOf(u('nobody'), { after: '', limit: 10 }), { items: [] });
    });

    it('lists the ids of the groups a user is in, paged in group id order, without dissolved or left groups', async () => {
      const u = users();
      const groups = [newGroup(u('ann')), newGroup(u('ann')), newGroup(u('bob')), newGroup(u('bob'))].sort((a, b) =>
        a.id < b.id ? -1 : 1,
      );
      for (const g of groups) await store.create(g, [g.owner, u('ann'), u('bob')]);
      const first = await store.groupIdsOf(u('bob'), { after: '', limit: 3 });
      assert.deepEqual(first, { items: groups.slice(0, 3).map((g) => g.id), next: groups[2]!.id });
      assert.deepEqual(await store.groupIdsOf(u('bob'), { after: first.next ?? '', limit: 3 }), {
        items: [groups[3]!.id],
      });
      await store.removeMembers(groups[0]!.id, [u('bob')]);
      await store.dissolve(groups[1]!.id, 1000);
      assert.deepEqual(await store.groupIdsOf(u('bob'), { after: '', limit: 10 }), {
        items: groups.slice(2).map((g) => g.id),
      });
      assert.deepEqual(await store.groupIdsOf(u('nobody'), { after: '', limit: 10 }), { items: [] });
    });

    it("answers many users' first pages asked at once each with their own groups, at the limits asked", async () => {
      const u = users();
      const groups = [newGroup(u('ann')), newGroup(u('ann')), newGroup(u('bob'))].sort((a, b) =>
        a.id < b.id ? -1 : 1,
      );
      for (const g of groups) await store.create(g, [g.owner, u('cy')]);
      const ids = (owner: string) => groups.filter((g) => g.owner === owner).map((g) => g.id);
      const pages = await Promise.all([
        store.groupIdsOf(u('ann'), { after: '', limit: 10 }),
        store.groupIdsOf(u('bob'), { after: '', limit: 10 }),
        store.groupIdsOf(u('cy'), { after: '', limit: 10 }),
        store.groupIdsOf(u('nobody'), { after: '', limit: 10 }),
        store.groupIdsOf(u('ann'), { after: '', limit: 10 }),
      ]);
      assert.deepEqual(pages, [
        { items: ids(u('ann')) },
        { items: ids(u('bob')) },
        { items: groups.map((g) => g.id) },
        { items: [] },
        { items: ids(u('ann')) },
      ]);
      const mixed = await Promise.all([
        store.groupIdsOf(u('cy'), { after: '', limit: 2 }),
        store.groupIdsOf(u('bob'), { after: '', limit: 10 }),
      ]);
      assert.deepEqual(mixed, [
        { items: groups.slice(0, 2).map((g) => g.id), next: groups[1]!.id },
        { items: ids(u('bob')) },
      ]);
    });

    it('dissolves a group: marked once, every member removed, gone from their group lists; again is harmless', async () => {
      const u = users();
      const [g, other] = [newGroup(u('ann')), newGroup(u('ann'))];
      await store.create(g, [u('ann'), u('bob')]);
      await store.create(other, [u('ann')]);
      await store.dissolve(g.id, 1000);
      assert.deepEqual(await store.get(g.id), { ...g, dissolvedAtMs: 1000 });
      assert.deepEqual(await store.members(g.id), []);
      assert.equal(await store.isMember(g.id, u('bob')), false);
      assert.equal(await store.count(g.id), 0);
      assert.deepEqual(
        (await store.groupsOf(u('ann'), { after: '', limit: 10 })).items.map(({ group }) => group.id),
        [other.id],
      );
      assert.deepEqual((await store.groupsOf(u('bob'), { after: '', limit: 10 })).items, []);
      assert.equal(await store.transferOwnership(g.id, u('ann'), u('bob')), false);
      await store.dissolve(g.id, 2000);
      assert.equal((await store.get(g.id))!.dissolvedAtMs, 1000);
      await assert.rejects(store.dissolve(randomUUID(), 1));
    });
  });
}
