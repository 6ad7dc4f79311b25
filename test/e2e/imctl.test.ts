import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { Embedded } from '../../app/embedded.ts';
import { startServer } from './harness.ts';

const run = promisify(execFile);
const IMCTL = join(import.meta.dirname, '../../client/imctl.js');

describe('imctl drives the embedded server and prints JSON', () => {
  let server: Embedded;
  const home = mkdtempSync(join(tmpdir(), 'imctl-home-'));
  before(async () => {
    server = await startServer();
  });
  after(() => server.close());

  const imctl = (...args: string[]) => imctlWith({}, ...args);
  const imctlWith = async (extraEnv: Record<string, string>, ...args: string[]) => {
    const url = server.gateway.url.replace(/\/v1\/ws$/, '');
    const api = url.replace(/^ws/, 'http');
    const env = { ...process.env, IM_HOME: home, IM_SERVER: url, IM_API: api, ...extraEnv };
    const { stdout } = await run(process.execPath, [IMCTL, ...args], { env, timeout: 30_000 });
    return stdout
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  };
  const imctlFails = async (...args: string[]) => {
    const err = (await imctl(...args).then(
      () => assert.fail('imctl succeeded'),
      (e: unknown) => e,
    )) as { code: number; stderr: string };
    assert.equal(err.code, 1);
    return (JSON.parse(err.stderr.trim().split('\n').at(-1)!) as { error: { code: string; message: string } }).error;
  };

  it('prints a token the server accepts', async () => {
    const [out] = await imctl('token', '--user', 'tok', '--device', 'd1', '--ttl', '60');
    assert.match(String(out!.token), /^eyJ[\w-]+\.[\w-]+\.[\w-]+$/, 'a JWT');
    assert.equal(out!.expires_in, 60);
  });

  it('sends, listens, dedupes a repeated client_msg_id and pages with sync', async () => {
    const listening = imctl('listen', '--user', 'bob', '--device', 'phone', '--count', '2', '--timeout', '20');
    await new Promise((r) => setTimeout(r, 1500));
    const [first] = await imctl('send', '--user', 'alice', '--to', 'bob', '--text', 'hello bob');
    assert.equal(first!.conversation, 'dm:alice:bob');
    const [second] = await imctl(
      'send',
      '--user',
      'alice',
      '--to',
      'bob',
      '--text',
      'again',
      '--client-msg-id',
      'fixed-1',
    );
    const [retried] = await imctl(
      'send',
      '--user',
      'alice',
      '--to',
      'bob',
      '--text',
      'again',
      '--client-msg-id',
      'fixed-1',
    );
    assert.deepEqual(retried, second);
    const heard = await listening;
    assert.deepEqual(
      heard.map((m) => [m.conversation, m.from, m.text, m.client_msg_id]),
      [
        ['dm:alice:bob', 'alice', 'hello bob', first!.client_msg_id],
        ['dm:alice:bob', 'alice', 'again', 'fixed-1'],
      ],
    );
    const [page1] = await imctl('sync', '--user', 'bob', '--device', 'pc', '--limit', '1');
    assert.equal(page1!.has_more, true);
    assert.deepEqual(
      (page1!.messages as { text: string }[]).map((m) => m.text),
      ['hello bob'],
    );
    const [page2] = await imctl('sync', '--user', 'bob', '--device', 'pc', '--limit', '1');
    assert.deepEqual(
      (page2!.messages as { text: string }[]).map((m) => m.text),
      ['again'],
    );
    const [fromKey] = await imctl('sync', '--user', 'bob', '--device', 'pc', '--key', String(page1!.sync_key));
    assert.deepEqual(
      (fromKey!.messages as { seq: number }[]).map((m) => m.seq),
      [(page2!.messages as { seq: number }[])[0]!.seq],
    );
  });

  it('creates a group, changes its members and sends to it', async () => {
    const [created] = await imctl('group', 'create', '--user', 'gowner', '--name', 'team', '--members', 'gm1,gm2');
    const group = String(created!.group_id);
    assert.equal(created!.member_count, 3);
    await imctl('group', 'add', '--user', 'gowner', '--group', group, '--members', 'gm3');
    await imctl('group', 'remove', '--user', 'gowner', '--group', group, '--members', 'gm1');
    const [members] = await imctl('group', 'members', '--user', 'gowner', '--group', group);
    assert.deepEqual([...(members!.members as string[])].sort(), ['gm2', 'gm3', 'gowner']);
    const [sent] = await imctl('send', '--user', 'gowner', '--group', group, '--text', 'hi team');
    assert.equal(sent!.conversation, `group:${group}`);
    const [synced] = await imctl('sync', '--user', 'gm3');
    assert.deepEqual(
      (synced!.messages as { text: string }[]).map((m) => m.text),
      ['hi team'],
    );
  });

  it('marks read, edits and recalls, and shows unread counts in sync', async () => {
    const dm = 'dm:ann:ben';
    await imctl('send', '--user', 'ann', '--to', 'ben', '--text', 'draft', '--client-msg-id', 'e1');
    const [second] = await imctl('send', '--user', 'ann', '--to', 'ben', '--text', 'oops', '--client-msg-id', 'r1');
    const [before] = await imctl('sync', '--user', 'ben', '--device', 'phone', '--no-state');
    assert.deepEqual([before!.unread, before!.total_unread], [{ [dm]: 2 }, 2]);
    const firstSeq = (before!.messages as { seq: number }[])[0]!.seq;
    await imctl('read', '--user', 'ben', '--device', 'phone', '--conversation', dm, '--seq', String(firstSeq));
    await imctl('edit', '--user', 'ann', '--conversation', dm, '--client-msg-id', 'e1', '--text', 'final');
    await imctl('recall', '--user', 'ann', '--conversation', dm, '--client-msg-id', 'r1');
    const [after] = await imctl('sync', '--user', 'ben', '--device', 'pc', '--no-state');
    type Entry = { op?: string; text?: string; target?: { client_msg_id: string }; recalled?: boolean };
    const ops = (after!.messages as Entry[]).map((m) => [
      m.op ?? (m.recalled ? 'recalled' : 'message'),
      m.text ?? '',
      m.target?.client_msg_id ?? '',
    ]);
    // The recalled message is a tombstone: its place and ids stay, its text is gone.
    assert.deepEqual(ops, [
      ['message', 'draft', ''],
      ['recalled', '', ''],
      ['read', '', ''],
      ['edit', 'final', 'e1'],
      ['recall', '', 'r1'],
    ]);
    assert.equal(after!.total_unread, 0);
    assert.ok(second!.seq);
  });

  it('explains bad arguments and server refusals on stderr with exit status 1', async () => {
    assert.equal((await imctlFails('send', '--user', 'a', '--text', 'no recipient')).code, 'INVALID_ARGUMENT');
    assert.equal(
      (await imctlFails('send', '--user', 'a', '--to', 'b', '--text', 'x', '--token', 'garbage')).code,
      'UNAUTHORIZED',
    );
    assert.equal((await imctlFails('group', 'members', '--user', 'a', '--group', 'nosuchgroup')).code, 'NOT_FOUND');
    assert.equal((await imctlFails('sync', '--user', 'a', '--key', '!!bad!!')).code, 'BAD_SYNC_KEY');
  });

  it('creates an app, sends, schedules, lists and cancels notices that listen prints, signing as the app', async () => {
    const asOperator = { IM_OPERATOR_TOKEN: server.operator.token };
    const [app] = await imctlWith(
      asOperator,
      'app',
      'create',
      '--name',
      'orders',
      '--scopes',
      'unicast,broadcast,read',
    );
    assert.match(String(app!.id), /^app_/);
    assert.equal(typeof app!.secret, 'string');
    const asApp = { IM_APP_ID: String(app!.id), IM_APP_SECRET: String(app!.secret) };
    const listening = imctl('listen', '--user', 'nora', '--device', 'phone', '--count', '2', '--timeout', '20');
    await new Promise((r) => setTimeout(r, 1500));
    const [sent] = await imctlWith(
      asApp,
      'notice',
      'send',
      '--to',
      'nora',
      '--title',
      'Shipped',
      '--body',
      'On its way',
      '--data',
      'order=42',
    );
    assert.equal(sent!.created, true);
    const [all] = await imctlWith(asApp, 'notice', 'send', '--all', '--title', 'Maintenance', '--body', 'at 2am');
    const printed = await listening;
    const notices = printed.filter((line) => line.kind === 'notice');
    assert.deepEqual(
      notices.map((n) => n.title),
      ['Shipped', 'Maintenance'],
    );
    assert.deepEqual(notices[0]!.data, { order: '42' });
    const [later] = await imctlWith(
      asApp,
      'notice',
      'send',
      '--to',
      'nora',
      '--title',
      'Later',
      '--body',
      'x',
      '--at',
      '+1h',
    );
    assert.equal(later!.state, 'scheduled');
    const [cancelled] = await imctlWith(asApp, 'notice', 'cancel', String(later!.id));
    assert.equal(cancelled!.state, 'cancelled');
    const [status] = await imctlWith(asApp, 'notice', 'status', String(all!.id));
    assert.equal(status!.target_kind, 'all');
    const [list] = await imctlWith(asApp, 'notice', 'list', '--state', 'cancelled');
    assert.deepEqual(
      (list!.notices as { id: string }[]).map((n) => n.id),
      [later!.id],
    );
    const [revoked] = await imctlWith(asOperator, 'app', 'revoke', String(app!.id));
    assert.ok(Number(revoked!.revoked_at_ms) > 0);
  });

  it('revokes a lost phone’s sign-in and lists the revocations in force', async () => {
    const asOperator = { IM_OPERATOR_TOKEN: server.operator.token };
    const [revoked] = await imctlWith(asOperator, 'revoke', '--user', 'lou', '--device', 'lost-phone');
    assert.deepEqual([revoked!.user, revoked!.device], ['lou', 'lost-phone']);
    const [listed] = await imctlWith(asOperator, 'revocations');
    assert.ok((listed!.revocations as { user: string }[]).some((r) => r.user === 'lou'));
    await assert.rejects(imctlWith(asOperator, 'revoke', '--user', 'a:b'), /user/);
  });

  it('registers, lists and unregisters devices for mobile push, and lists and replays dead letters', async () => {
    const asOperator = { IM_OPERATOR_TOKEN: server.operator.token };
    const apnsToken = 'ab'.repeat(32);
    const [phone] = await imctl(
      'push',
      'register',
      '--user',
      'pia',
      '--device',
      'phone',
      '--platform',
      'apns',
      '--push-token',
      apnsToken,
      '--topic',
      'com.example.chat',
      '--environment',
      'sandbox',
      '--locale',
      'en-US',
    );
    assert.ok(Number(phone!.updated_at_ms) > 0);
    assert.deepEqual(
      { ...phone, updated_at_ms: 0 },
      { device: 'phone', platform: 'apns', registered: true, environment: 'sandbox', previews: true, updated_at_ms: 0 },
    );
    assert.ok(!JSON.stringify(phone).includes(apnsToken), 'the push token is never printed');
    const [tablet] = await imctl(
      'push',
      'register',
      '--user',
      'pia',
      '--device',
      'tablet',
      '--platform',
      'fcm',
      '--push-token',
      'fcm-token:1',
      '--no-previews',
    );
    assert.deepEqual([tablet!.platform, tablet!.environment, tablet!.previews], ['fcm', 'production', false]);

    type Devices = { devices: { device: string; platform: string; environment: string; previews: boolean }[] };
    const devicesOf = async (user: string) => {
      const [listed] = (await imctlWith(asOperator, 'push', 'list', '--user', user)) as unknown as Devices[];
      return listed!.devices
        .map(({ device, platform, environment, previews }) => ({ device, platform, environment, previews }))
        .sort((a, b) => a.device.localeCompare(b.device));
    };
    assert.deepEqual(await devicesOf('pia'), [
      { device: 'phone', platform: 'apns', environment: 'sandbox', previews: true },
      { device: 'tablet', platform: 'fcm', environment: 'production', previews: false },
    ]);
    const [gone] = await imctl('push', 'unregister', '--user', 'pia', '--device', 'phone');
    assert.deepEqual([gone!.device, gone!.registered], ['phone', false]);
    assert.deepEqual(
      (await devicesOf('pia')).map((d) => d.device),
      ['tablet'],
    );
    assert.deepEqual(await devicesOf('nobody'), []);

    // No provider is configured: nothing is refused by one, so nothing is dead-lettered.
    const [letters] = await imctlWith(asOperator, 'push', 'dlq', 'list', '--limit', '10');
    assert.deepEqual(letters!.dead_letters, []);
    assert.ok(!letters!.next);
    assert.deepEqual(await imctlWith(asOperator, 'push', 'dlq', 'replay', 'no-such-letter'), [{ replayed: 0 }]);
    assert.deepEqual(await imctlWith(asOperator, 'push', 'dlq', 'replay', '--all'), [{ replayed: 0 }]);
  });

  it('explains bad push input and refusals', async () => {
    const register = ['push', 'register', '--user', 'pia', '--device', 'watch', '--push-token', 'ab'.repeat(32)];
    const unknown = await imctlFails(...register, '--platform', 'mpns');
    assert.equal(unknown.code, 'INVALID_ARGUMENT');
    assert.match(unknown.message, /--platform must be apns or fcm/);
    assert.equal((await imctlFails(...register, '--platform', 'apns')).code, 'INVALID_ARGUMENT'); // no --topic
    const environment = ['--platform', 'fcm', '--environment', 'staging'];
    assert.equal((await imctlFails(...register, ...environment)).code, 'INVALID_ARGUMENT');
    assert.equal((await imctlFails('push', 'dlq', 'replay')).code, 'INVALID_ARGUMENT');
    assert.equal((await imctlFails('push', 'dlq', 'replay', 'x', '--all')).code, 'INVALID_ARGUMENT');
    const wrongToken = ['--operator-token', 'not-the-token'];
    assert.equal((await imctlFails('push', 'list', '--user', 'pia', ...wrongToken)).code, 'UNAUTHORIZED');
    assert.equal((await imctlFails('push', 'dlq', 'list', ...wrongToken)).code, 'UNAUTHORIZED');
  });
});
