import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { GroupRole } from '../proto/gen/im/v1/client.pb.ts';
import { MemoryGroupStore } from './group-store.memory.ts';
import { Groups } from './groups.ts';

const { GROUP_ROLE_OWNER: OWNER, GROUP_ROLE_ADMIN: ADMIN, GROUP_ROLE_MEMBER: MEMBER } = GroupRole;

describe('Groups: roles and their rules', () => {
  let groups: Groups;
  let id: string;
  beforeEach(async () => {
    groups = new Groups(new MemoryGroupStore(), { maxMembers: 6, maxNameChars: 10, pageMax: 3 }, () => 42);
    // own: owner; adm: admin; m1, m2: members.
    id = (await groups.create({ actor: 'own', name: 'team', members: ['adm', 'm1', 'm2'] })).groupId;
    await groups.setRole({ actor: 'own', groupId: id, user: 'adm', role: ADMIN });
  });
  /** Every member's role, page by page (pages hold at most 3 here). */
  const roles = async (actor = 'own') => {
    const all: Record<string, GroupRole> = {};
    let cursor = '';
    do {
      const page = await groups.listMembers({ actor, groupId: id, cursor, limit: 0 });
      for (const m of page.entries) all[m.user] = m.role;
      cursor = page.nextCursor;
    } while (cursor);
    return all;
  };
  const change = (actor: string, members: string[]) => ({ actor, groupId: id, members });

  it('answers create with the owner role and the member count', async () => {
    const g = await groups.create({ actor: 'x', name: 'n', members: ['y', 'x'] });
    assert.deepEqual(
      { ...g, groupId: '' },
      { groupId: '', name: 'n', owner: 'x', memberCount: 2, role: OWNER, dissolved: false },
    );
    await assert.rejects(groups.create({ actor: 'x', name: 'far too long', members: [] }), {
      code: 'INVALID_ARGUMENT',
    });
  });

  it('lets the owner and admins add; members cannot; the size limit holds', async () => {
    assert.equal((await groups.addMembers(change('adm', ['a1']))).memberCount, 5);
    assert.equal((await groups.addMembers(change('own', ['a2']))).role, OWNER);
    await assert.rejects(groups.addMembers(change('m1', ['a3'])), { code: 'FORBIDDEN' });
    await assert.rejects(groups.addMembers(change('own', ['a3'])), { code: 'INVALID_ARGUMENT' });
    await assert.rejects(groups.addMembers(change('eve', ['a3'])), { code: 'NOT_MEMBER' });
  });

  it('lets admins remove plain members only, and the owner anyone but themselves', async () => {
    await assert.rejects(groups.removeMembers(change('adm', ['own'])), { code: 'FORBIDDEN' });
    await groups.addMembers(change('own', ['adm2']));
    await groups.setRole({ actor: 'own', groupId: id, user: 'adm2', role: ADMIN });
    await assert.rejects(groups.removeMembers(change('adm', ['adm2'])), { code: 'FORBIDDEN' });
    await assert.rejects(groups.removeMembers(change('m1', ['m2'])), { code: 'FORBIDDEN' });
    assert.equal((await groups.removeMembers(change('adm', ['m1']))).memberCount, 4);
    assert.equal((await groups.removeMembers(change('own', ['adm2', 'nobody']))).memberCount, 3);
    await assert.rejects(groups.removeMembers(change('own', ['own'])), { code: 'FORBIDDEN' });
    assert.deepEqual(await roles(), { own: OWNER, adm: ADMIN, m2: MEMBER });
  });

  it('lets any member leave (also by removing only themselves), but not the owner', async () => {
    const left = await groups.leave({ actor: 'm1', groupId: id });
    assert.deepEqual([left.memberCount, left.role], [3, GroupRole.GROUP_ROLE_UNSPECIFIED]);
    assert.equal((await groups.removeMembers(change('adm', ['adm']))).memberCount, 2);
    await assert.rejects(groups.leave({ actor: 'own', groupId: id }), {
      code: 'FORBIDDEN',
      message: /owner cannot leave.*OWNER.*dissolve/,
    });
    await assert.rejects(groups.leave({ actor: 'm1', groupId: id }), { code: 'NOT_MEMBER' });
  });

  it('lets only the owner set roles; OWNER hands ownership over and the previous owner becomes an admin', async () => {
    await assert.rejects(groups.setRole({ actor: 'adm', groupId: id, user: 'm1', role: ADMIN }), {
      code: 'FORBIDDEN',
    });
    await assert.rejects(groups.setRole({ actor: 'own', groupId: id, user: 'eve', role: ADMIN }), {
      code: 'NOT_MEMBER',
    });
    await assert.rejects(groups.setRole({ actor: 'own', groupId: id, user: 'own', role: MEMBER }), {
      code: 'FORBIDDEN',
    });
    await assert.rejects(
      groups.setRole({ actor: 'own', groupId: id, user: 'm1', role: GroupRole.GROUP_ROLE_UNSPECIFIED }),
      { code: 'INVALID_ARGUMENT' },
    );
    await groups.setRole({ actor: 'own', groupId: id, user: 'adm', role: MEMBER });
    assert.equal((await roles()).adm, MEMBER);
    const handed = await groups.setRole({ actor: 'own', groupId: id, user: 'm1', role: OWNER });
    assert.deepEqual([handed.owner, handed.role], ['m1', ADMIN]);
    assert.deepEqual(await roles(), { own: ADMIN, adm: MEMBER, m1: OWNER, m2: MEMBER });
    await groups.leave({ actor: 'own', groupId: id });
    await assert.rejects(groups.setRole({ actor: 'own', groupId: id, user: 'm2', role: ADMIN }), {
      code: 'NOT_MEMBER',
    });
  });

  it('lets only the owner dissolve; afterwards everything is refused with GROUP_DISSOLVED', async () => {
    await assert.rejects(groups.dissolve({ actor: 'adm', groupId: id }), { code: 'FORBIDDEN' });
    const gone = await groups.dissolve({ actor: 'own', groupId: id });
    assert.deepEqual([gone.dissolved, gone.memberCount, gone.role], [true, 0, GroupRole.GROUP_ROLE_UNSPECIFIED]);
    for (const attempt of [
      () => groups.requireMember(id, 'own'),
      () => groups.listMembers({ actor: 'own', groupId: id, cursor: '', limit: 0 }),
      () => groups.addMembers(change('own', ['x'])),
      () => groups.leave({ actor: 'm1', groupId: id }),
      () => groups.setRole({ actor: 'own', groupId: id, user: 'm1', role: ADMIN }),
      () => groups.dissolve({ actor: 'adm', groupId: id }),
    ])
      await assert.rejects(attempt(), { code: 'GROUP_DISSOLVED' });
    // The owner asking again is harmless (and finishes an interrupted dissolve).
    assert.equal((await groups.dissolve({ actor: 'own', groupId: id })).dissolved, true);
    assert.deepEqual((await groups.listGroups({ actor: 'm1', cursor: '', limit: 0 })).groups, []);
    await assert.rejects(groups.dissolve({ actor: 'own', groupId: 'nope' }), { code: 'NOT_FOUND' });
  });

  it('pages members and groups, capping the page size, and refuses cursors it did not make', async () => {
    const page1 = await groups.listMembers({ actor: 'm1', groupId: id, cursor: '', limit: 50 });
    assert.deepEqual(page1.members, ['adm', 'm1', 'm2']);
    assert.equal(page1.nextCursor, 'm2');
    const page2 = await groups.listMembers({ actor: 'm1', groupId: id, cursor: page1.nextCursor, limit: 2 });
    assert.deepEqual(page2.entries, [{ user: 'own', role: OWNER }]);
    assert.equal(page2.nextCursor, '');
    await assert.rejects(groups.listMembers({ actor: 'm1', groupId: id, cursor: 'a:b', limit: 2 }), {
      code: 'INVALID_ARGUMENT',
    });
    await assert.rejects(groups.listMembers({ actor: 'eve', groupId: id, cursor: '', limit: 2 }), {
      code: 'NOT_MEMBER',
    });
    const second = await groups.create({ actor: 'adm', name: 'b', members: ['m1'] });
    const mine = await groups.listGroups({ actor: 'adm', cursor: '', limit: 1 });
    assert.deepEqual(mine.groups, [{ groupId: id, name: 'team', owner: 'own', role: ADMIN, createdAtMs: 42 }]);
    const rest = await groups.listGroups({ actor: 'adm', cursor: mine.nextCursor, limit: 1 });
    assert.deepEqual(
      rest.groups.map((g) => [g.groupId, g.role]),
      [[second.groupId, OWNER]],
    );
    assert.equal(rest.nextCursor, '');
  });

  it('checks membership for sends: unknown group, non-member, removed member', async () => {
    await assert.rejects(groups.requireMember('nope', 'own'), { code: 'NOT_FOUND' });
    await assert.rejects(groups.requireMember(id, 'eve'), { code: 'NOT_MEMBER' });
    await groups.removeMembers(change('own', ['m2']));
    await assert.rejects(groups.requireMember(id, 'm2'), { code: 'NOT_MEMBER' });
    assert.deepEqual(await groups.members(id), ['adm', 'm1', 'own']);
  });
});
