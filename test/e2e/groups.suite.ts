import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { GroupRole, groupRoleName, type ImClient, type Message } from '../../client/sdk.ts';
import { connect, eventually, sleep, type Target } from './harness.ts';

export interface GroupsSuiteOptions {
  /** The server's smallGroupMaxMembers (default 200, the product default). */
  maxMembers?: number;
}

/**
 * Group management end to end, over a real WebSocket with the SDK: roles, leaving, dissolving, paged lists, and
 * what removal means for messages. Runs embedded (groups.test.ts) and in cluster mode (groups.cluster.test.ts);
 * user ids carry a per-run suffix because cluster mode keeps its data between runs.
 */
export function groupsSuite(label: string, setup: () => Promise<Target>, options: GroupsSuiteOptions = {}): void {
  const maxMembers = options.maxMembers ?? 200; // as IM_MAX_GROUP_MEMBERS in the cluster test
  describe(`group management (${label})`, () => {
    const run = Date.now().toString(36);
    const u = (name: string) => `${name}-${run}`;
    let server: Target;
    before(async () => {
      server = await setup();
    });
    after(() => server.close());

    /** Every member as {user: role name}, read page by page. */
    const roles = async (client: ImClient, groupId: string) =>
      Object.fromEntries(
        (await client.allGroupMembers(groupId, 2)).map((m) => [m.user, groupRoleName(m.role)] as const),
      );

    it('gives the owner, admins and members their powers, and no more', async () => {
      const [own, adm, adm2, m1, m2] = ['own', 'adm', 'adm2', 'm1', 'm2'].map((n) => u(`r-${n}`)) as [
        string,
        string,
        string,
        string,
        string,
      ];
      const owner = await connect(server, own, 'pc');
      const admin = await connect(server, adm, 'pc');
      const member = await connect(server, m1, 'pc');
      const g = await owner.client.createGroup('roles', [adm, adm2, m1]);
      assert.equal(g.role, GroupRole.GROUP_ROLE_OWNER);
      await assert.rejects(admin.client.addMembers(g.groupId, [m2]), { code: 'FORBIDDEN' });
      await owner.client.setMemberRole(g.groupId, adm, 'admin');
      await owner.client.setMemberRole(g.groupId, adm2, 'admin');
      await assert.rejects(admin.client.setMemberRole(g.groupId, m1, 'admin'), { code: 'FORBIDDEN' });

      const added = await admin.client.addMembers(g.groupId, [m2]);
      assert.deepEqual([added.memberCount, added.role], [5, GroupRole.GROUP_ROLE_ADMIN]);
      await assert.rejects(member.client.addMembers(g.groupId, [u('r-x')]), { code: 'FORBIDDEN' });
      await assert.rejects(member.client.removeMembers(g.groupId, [m2]), { code: 'FORBIDDEN' });
      await assert.rejects(admin.client.removeMembers(g.groupId, [own]), { code: 'FORBIDDEN' });
      await assert.rejects(admin.client.removeMembers(g.groupId, [adm2]), { code: 'FORBIDDEN' });
      assert.equal((await admin.client.removeMembers(g.groupId, [m2])).memberCount, 4);
      assert.deepEqual(await roles(member.client, g.groupId), {
        [own]: 'owner',
        [adm]: 'admin',
        [adm2]: 'admin',
        [m1]: 'member',
      });
      // The owner removes admins too, and demotes them.
      await owner.client.removeMembers(g.groupId, [adm2]);
      await owner.client.setMemberRole(g.groupId, adm, 'member');
      await assert.rejects(admin.client.addMembers(g.groupId, [m2]), { code: 'FORBIDDEN' });
      await assert.rejects(owner.client.setMemberRole(g.groupId, m2, 'admin'), { code: 'NOT_MEMBER' });
      for (const c of [owner, admin, member]) await c.client.close();
    });

    it('lets members leave; the owner must hand over ownership first and is an admin afterwards', async () => {
      const [own, m1, m2] = ['own', 'm1', 'm2'].map((n) => u(`l-${n}`)) as [string, string, string];
      const owner = await connect(server, own, 'pc');
      const member = await connect(server, m1, 'pc');
      const heir = await connect(server, m2, 'pc');
      const g = await owner.client.createGroup('leaving', [m1, m2]);
      const left = await member.client.leaveGroup(g.groupId);
      assert.deepEqual([left.memberCount, left.role], [2, GroupRole.GROUP_ROLE_UNSPECIFIED]);
      await assert.rejects(member.client.send({ group: g.groupId }, { text: 'still here?' }), { code: 'NOT_MEMBER' });
      await assert.rejects(member.client.leaveGroup(g.groupId), { code: 'NOT_MEMBER' });
      await assert.rejects(owner.client.leaveGroup(g.groupId), { code: 'FORBIDDEN', message: /transfer|owner/i });
      const handed = await owner.client.setMemberRole(g.groupId, m2, 'owner');
      assert.deepEqual([handed.owner, handed.role], [m2, GroupRole.GROUP_ROLE_ADMIN]);
      assert.deepEqual(await roles(heir.client, g.groupId), { [own]: 'admin', [m2]: 'owner' });
      await assert.rejects(owner.client.dissolveGroup(g.groupId), { code: 'FORBIDDEN' });
      await owner.client.leaveGroup(g.groupId);
      assert.deepEqual(await roles(heir.client, g.groupId), { [m2]: 'owner' });
      await heir.client.send({ group: g.groupId }, { text: 'alone now' });
      for (const c of [owner, member, heir]) await c.client.close();
    });

    it('stops sending to a removed member, online or by sync, and leaves them what they already had', async () => {
      const [own, gone, stays] = ['own', 'gone', 'stays'].map((n) => u(`x-${n}`)) as [string, string, string];
      const owner = await connect(server, own, 'pc');
      const removed = await connect(server, gone, 'phone');
      const staying = await connect(server, stays, 'phone');
      const g = await owner.client.createGroup('removal', [gone, stays]);
      await owner.client.send({ group: g.groupId }, { text: 'before' });
      await eventually(() => removed.messages.length === 1 && staying.messages.length === 1, 'both get "before"');
      await owner.client.removeMembers(g.groupId, [gone]);
      await owner.client.send({ group: g.groupId }, { text: 'after' });
      await eventually(() => staying.messages.length === 2, 'the remaining member gets "after"');
      await assert.rejects(removed.client.send({ group: g.groupId }, { text: 'let me back' }), {
        code: 'NOT_MEMBER',
      });
      await sleep(300);
      assert.deepEqual(removed.texts(), ['before']);
      assert.deepEqual(staying.texts(), ['before', 'after']);
      // A device of the removed member that syncs from the very beginning finds the old message, not the new one.
      const fresh = await connect(server, gone, 'tablet');
      assert.deepEqual(fresh.texts(), ['before']);
      const page = await fresh.client.getDiff('', 100);
      assert.deepEqual(
        page.messages.map((m) => [m.conversation, Buffer.from(m.body).toString()]),
        [[`group:${g.groupId}`, 'before']],
      );
      // Added back, they get what is sent from then on (not what they missed).
      await owner.client.addMembers(g.groupId, [gone]);
      await owner.client.send({ group: g.groupId }, { text: 'welcome back' });
      await eventually(() => fresh.messages.length === 2, 'the re-added member gets new messages');
      assert.deepEqual(fresh.texts(), ['before', 'welcome back']);
      for (const c of [owner, removed, staying, fresh]) await c.client.close();
    });

    it('refuses an edit from a removed member and keeps new text from reaching removed members', async () => {
      const [own, gone, stays] = ['own', 'gone', 'stays'].map((n) => u(`e-${n}`)) as [string, string, string];
      const owner = await connect(server, own, 'pc');
      const removed = await connect(server, gone, 'phone');
      const staying = await connect(server, stays, 'phone');
      const g = await owner.client.createGroup('edits', [gone, stays]);
      await removed.client.send({ group: g.groupId }, { text: 'theirs' });
      await owner.client.send({ group: g.groupId }, { text: 'ours' });
      await eventually(() => staying.messages.length === 2 && removed.messages.length === 2, 'both messages');
      const [theirs, ours] = staying.messages as [Message, Message];
      await owner.client.removeMembers(g.groupId, [gone]);
      await assert.rejects(removed.client.edit(theirs, 'rewritten after removal'), { code: 'NOT_MEMBER' });
      // A member's edit reaches the members, not whoever was removed since.
      await owner.client.edit(ours, 'ours, edited');
      await eventually(() => staying.messages.length === 3, 'the member gets the edit');
      // Recalling stays open to the removed sender: it takes content away (decision 0019).
      await removed.client.recall(theirs);
      await eventually(() => staying.messages.length === 4, 'the member gets the recall');
      await sleep(300);
      assert.deepEqual(staying.texts(), ['theirs', 'ours', 'ours, edited', '']);
      assert.deepEqual(removed.texts(), ['theirs', 'ours', '']);
      for (const user of [own, gone, stays]) {
        const fresh = await connect(server, user, 'tablet');
        const texts = fresh.texts();
        assert.ok(!texts.includes('rewritten after removal') && !texts.includes('theirs'), user);
        assert.equal(texts.includes('ours, edited'), user !== gone, user);
        await fresh.client.close();
      }
      for (const c of [owner, removed, staying]) await c.client.close();
    });

    it('refuses edits in a dissolved group, and still lets its messages be recalled', async () => {
      const [own, m1] = ['own', 'm1'].map((n) => u(`de-${n}`)) as [string, string];
      const owner = await connect(server, own, 'pc');
      const member = await connect(server, m1, 'pc');
      const g = await owner.client.createGroup('edit-doomed', [m1]);
      await owner.client.send({ group: g.groupId }, { text: 'from the owner' });
      await member.client.send({ group: g.groupId }, { text: 'from a member' });
      await eventually(() => member.messages.length === 2 && owner.messages.length === 2, 'both messages');
      const [fromOwner, fromMember] = member.messages as [Message, Message];
      await owner.client.dissolveGroup(g.groupId);
      await assert.rejects(owner.client.edit(fromOwner, 'after the end'), { code: 'GROUP_DISSOLVED' });
      await assert.rejects(member.client.edit(fromMember, 'after the end'), { code: 'GROUP_DISSOLVED' });
      await member.client.recall(fromMember);
      await eventually(() => owner.messages.length === 3, 'the recall');
      await sleep(300);
      assert.deepEqual(owner.texts(), ['from the owner', 'from a member', '']);
      const fresh = await connect(server, own, 'tablet');
      assert.ok(!fresh.texts().some((t) => t === 'after the end' || t === 'from a member'));
      for (const c of [owner, member, fresh]) await c.client.close();
    });

    it('dissolves a group: owner only; then sends and member lists get GROUP_DISSOLVED, history stays', async () => {
      const [own, m1] = ['own', 'm1'].map((n) => u(`d-${n}`)) as [string, string];
      const owner = await connect(server, own, 'pc');
      const member = await connect(server, m1, 'pc');
      const g = await owner.client.createGroup('doomed', [m1]);
      await owner.client.send({ group: g.groupId }, { text: 'last words' });
      await eventually(() => member.messages.length === 1, 'member gets the message');
      await assert.rejects(member.client.dissolveGroup(g.groupId), { code: 'FORBIDDEN' });
      const gone = await owner.client.dissolveGroup(g.groupId);
      assert.deepEqual([gone.dissolved, gone.memberCount], [true, 0]);
      await assert.rejects(owner.client.send({ group: g.groupId }, { text: 'anyone?' }), { code: 'GROUP_DISSOLVED' });
      await assert.rejects(member.client.send({ group: g.groupId }, { text: 'hello?' }), { code: 'GROUP_DISSOLVED' });
      await assert.rejects(member.client.groupMembers(g.groupId), { code: 'GROUP_DISSOLVED' });
      await assert.rejects(owner.client.addMembers(g.groupId, [u('d-new')]), { code: 'GROUP_DISSOLVED' });
      await assert.rejects(member.client.leaveGroup(g.groupId), { code: 'GROUP_DISSOLVED' });
      assert.deepEqual((await member.client.listGroups()).groups, []);
      assert.deepEqual((await owner.client.listGroups()).groups, []);
      const fresh = await connect(server, m1, 'tablet');
      assert.deepEqual(fresh.texts(), ['last words']);
      for (const c of [owner, member, fresh]) await c.client.close();
    });

    it('pages members with roles in user id order, and the groups a user is in', async () => {
      const own = u('p-own');
      const others = Array.from({ length: 10 }, (_, i) => u(`p-m${i}`));
      const owner = await connect(server, own, 'pc');
      const g = await owner.client.createGroup('paged', [...others].reverse());
      await owner.client.setMemberRole(g.groupId, others[3]!, 'admin');
      const expected = [own, ...others].sort();
      const seen: string[] = [];
      let cursor = '';
      let pages = 0;
      do {
        const page = await owner.client.groupMembers(g.groupId, { cursor, limit: 4 });
        assert.deepEqual(
          page.members,
          page.entries.map((m) => m.user),
        );
        seen.push(...page.members);
        cursor = page.nextCursor;
        pages++;
      } while (cursor !== '');
      assert.equal(pages, 3);
      assert.deepEqual(seen, expected);
      const all = await owner.client.allGroupMembers(g.groupId);
      assert.deepEqual(
        all.map((m) => m.user),
        expected,
      );
      assert.deepEqual(
        all.filter((m) => m.role !== GroupRole.GROUP_ROLE_MEMBER).map((m) => [m.user, groupRoleName(m.role)]),
        [
          [others[3], 'admin'], // u('p-m3') sorts before u('p-own')
          [own, 'owner'],
        ],
      );
      await assert.rejects(owner.client.groupMembers(g.groupId, { cursor: 'not:a:cursor' }), {
        code: 'INVALID_ARGUMENT',
      });

      // The groups of one user: made by different owners, listed in creation order, with the user's role.
      const me = u('p-me');
      const mine = await connect(server, me, 'pc');
      const first = await owner.client.createGroup('one', [me]);
      const second = await mine.client.createGroup('two', [own]);
      const third = await owner.client.createGroup('three', [me]);
      await owner.client.setMemberRole(third.groupId, me, 'admin');
      const page1 = await mine.client.listGroups({ limit: 2 });
      assert.ok(page1.nextCursor !== '');
      const page2 = await mine.client.listGroups({ cursor: page1.nextCursor, limit: 2 });
      assert.equal(page2.nextCursor, '');
      assert.deepEqual(
        [...page1.groups, ...page2.groups].map((x) => [x.groupId, x.name, x.owner, groupRoleName(x.role)]),
        [
          [first.groupId, 'one', own, 'member'],
          [second.groupId, 'two', me, 'owner'],
          [third.groupId, 'three', own, 'admin'],
        ],
      );
      await mine.client.leaveGroup(first.groupId);
      assert.deepEqual(
        (await mine.client.listGroups()).groups.map((x) => x.groupId),
        [second.groupId, third.groupId],
      );
      await owner.client.close();
      await mine.client.close();
    });

    it(`keeps the small-group size limit (${maxMembers} members)`, async () => {
      const own = u('s-own');
      const owner = await connect(server, own, 'pc');
      const members = Array.from({ length: maxMembers - 1 }, (_, i) => u(`s-${i}`));
      const g = await owner.client.createGroup('full', members);
      assert.equal(g.memberCount, maxMembers);
      await assert.rejects(owner.client.addMembers(g.groupId, [u('s-extra')]), { code: 'INVALID_ARGUMENT' });
      await assert.rejects(owner.client.createGroup('too big', [...members, u('s-extra')]), {
        code: 'INVALID_ARGUMENT',
      });
      await owner.client.close();
    });
  });
}
