import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { Embedded } from '../../app/embedded.ts';
import { groupsSuite } from './groups.suite.ts';
import { startServer } from './harness.ts';

// Services wired as objects, and with every service-to-service call over loopback gRPC (the new RPCs and the
// GROUP_DISSOLVED code have to cross it). A small size limit keeps the limit test quick.
groupsSuite('embedded, direct calls', () => startServer({ transport: 'direct', maxGroupMembers: 25 }), {
  maxMembers: 25,
});
groupsSuite('embedded, gRPC between services', () => startServer({ transport: 'grpc', maxGroupMembers: 25 }), {
  maxMembers: 25,
});

const runFile = promisify(execFile);
const IMCTL = join(import.meta.dirname, '../../client/imctl.js');

describe('imctl group commands', () => {
  let server: Embedded;
  const home = mkdtempSync(join(tmpdir(), 'imctl-groups-'));
  const run = Date.now().toString(36);
  const u = (name: string) => `${name}-${run}`;
  before(async () => {
    server = await startServer();
  });
  after(() => server.close());

  const imctl = async (...args: string[]) => {
    const env = { ...process.env, IM_HOME: home, IM_SERVER: server.gateway.url.replace(/\/v1\/ws$/, '') };
    const { stdout } = await runFile(process.execPath, [IMCTL, ...args], { env, timeout: 30_000 });
    return JSON.parse(stdout.trim()) as Record<string, unknown>;
  };
  const imctlFails = async (...args: string[]) => {
    const err = (await imctl(...args).then(
      () => assert.fail('imctl succeeded'),
      (e: unknown) => e,
    )) as { code: number; stderr: string };
    assert.equal(err.code, 1);
    return (JSON.parse(err.stderr.trim().split('\n').at(-1)!) as { error: { code: string; message: string } }).error;
  };

  it('sets roles, pages members and groups, leaves and dissolves, printing JSON', async () => {
    const [own, adm, m1, m2] = [u('own'), u('adm'), u('m1'), u('m2')];
    const created = await imctl('group', 'create', '--user', own, '--name', 'cli', '--members', `${adm},${m1}`);
    const group = String(created.group_id);
    assert.deepEqual(
      { ...created, group_id: '' },
      { group_id: '', name: 'cli', owner: own, member_count: 3, role: 'owner', dissolved: false },
    );
    const promoted = await imctl(
      'group',
      'set-role',
      '--user',
      own,
      '--group',
      group,
      '--member',
      adm,
      '--role',
      'admin',
    );
    assert.equal(promoted.role, 'owner');
    assert.equal((await imctl('group', 'add', '--user', adm, '--group', group, '--members', m2)).member_count, 4);
    assert.equal(
      (await imctlFails('group', 'add', '--user', m1, '--group', group, '--members', u('x'))).code,
      'FORBIDDEN',
    );

    const page = await imctl('group', 'members', '--user', m1, '--group', group, '--limit', '3');
    const sorted = [adm, m1, m2, own].sort();
    assert.deepEqual(page.members, sorted.slice(0, 3));
    assert.equal(page.next_cursor, sorted[2]);
    const rest = await imctl('group', 'members', '--user', m1, '--group', group, '--cursor', String(page.next_cursor));
    assert.deepEqual(rest, {
      group_id: group,
      members: [own],
      entries: [{ user: own, role: 'owner' }],
      next_cursor: '',
    });
    const all = await imctl('group', 'members', '--user', m1, '--group', group, '--all', '--limit', '1');
    assert.deepEqual(
      Object.fromEntries((all.entries as { user: string; role: string }[]).map((m) => [m.user, m.role])),
      { [own]: 'owner', [adm]: 'admin', [m1]: 'member', [m2]: 'member' },
    );

    const second = await imctl('group', 'create', '--user', m1, '--name', 'mine', '--members', own);
    const listed = await imctl('group', 'list', '--user', m1, '--all', '--limit', '1');
    assert.deepEqual(
      (listed.groups as { group_id: string; role: string }[]).map((g) => [g.group_id, g.role]),
      [
        [group, 'member'],
        [second.group_id, 'owner'],
      ],
    );
    assert.equal(listed.next_cursor, '');
    const firstPage = await imctl('group', 'list', '--user', m1, '--limit', '1');
    assert.equal((firstPage.groups as unknown[]).length, 1);
    assert.equal(firstPage.next_cursor, group);

    const left = await imctl('group', 'leave', '--user', m2, '--group', group);
    assert.deepEqual([left.member_count, left.role], [3, null]);
    const ownerLeaves = await imctlFails('group', 'leave', '--user', own, '--group', group);
    assert.equal(ownerLeaves.code, 'FORBIDDEN');
    assert.match(ownerLeaves.message, /owner/);
    assert.equal(
      (await imctlFails('group', 'set-role', '--user', own, '--group', group, '--member', m1, '--role', 'boss')).code,
      'INVALID_ARGUMENT',
    );
    const dissolved = await imctl('group', 'dissolve', '--user', own, '--group', group);
    assert.deepEqual([dissolved.dissolved, dissolved.member_count], [true, 0]);
    assert.equal((await imctlFails('send', '--user', own, '--group', group, '--text', 'x')).code, 'GROUP_DISSOLVED');
    assert.equal((await imctlFails('group', 'members', '--user', m1, '--group', group)).code, 'GROUP_DISSOLVED');
  });
});
