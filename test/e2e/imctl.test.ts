import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { E2E_CONTENT_TYPE } from '../../lib/e2e-keys.ts';
import { connect, startServer } from './harness.ts';

const run = promisify(execFile);
const IMCTL = join(import.meta.dirname, '../../client/imctl.js');

describe('imctl drives the embedded server and prints JSON', () => {
  let server: Awaited<ReturnType<typeof startServer>>;
  const home = mkdtempSync(join(tmpdir(), 'imctl-home-'));
  before(async () => {
    server = await startServer();
  });
  after(async () => {
    await server.close();
    rmSync(home, { recursive: true, force: true });
  });

  const imctl = (...args: string[]) => imctlWith({}, ...args);
  const imctlWith = async (extraEnv: Record<string, string>, ...args: string[]) =>
    (await imctlOutput(extraEnv, ...args)).lines;
  /** Its stdout's JSON lines, and its stderr's (warnings). */
  const imctlOutput = async (extraEnv: Record<string, string>, ...args: string[]) => {
    const url = server.gateway.url.replace(/\/v1\/ws$/, '');
    const api = url.replace(/^ws/, 'http');
    const env = { ...process.env, IM_HOME: home, IM_SERVER: url, IM_API: api, ...extraEnv };
    const { stdout, stderr } = await run(process.execPath, [IMCTL, ...args], { env, timeout: 30_000 });
    const parse = (text: string) =>
      text
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, unknown>);
    return { lines: parse(stdout), warnings: parse(stderr) };
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
  describe('end-to-end encryption, the device keeping its keys in a file', () => {
    type Entry = { text?: string; encrypted?: boolean; content_type: string; refused?: { code: string } };
    const [amy, ben] = ['e2e-amy', 'e2e-ben'];
    const synced = async (...args: string[]) => {
      const [page] = await imctl('sync', '--user', ben, ...args);
      return page!.messages as Entry[];
    };

    it('sends encrypted with --e2e: listen and sync print the text, the server holds ciphertext only', async () => {
      // Ben's phone and tablet publish their keys (the tablet also passes what came before, a notice to all).
      await imctl('sync', '--user', ben, '--device', 'phone');
      await imctl('sync', '--user', ben, '--device', 'tablet');
      const keyFile = join(home, 'e2e', `${ben}.phone.json`);
      assert.equal(statSync(keyFile).mode & 0o777, 0o600, 'the keys are the user’s only');
      const listening = imctl('listen', '--user', ben, '--device', 'tablet', '--count', '1', '--timeout', '20');
      await new Promise((r) => setTimeout(r, 1500));
      const [sent] = await imctl('send', '--user', amy, '--to', ben, '--text', 'pelican canary', '--e2e');
      assert.equal(sent!.encrypted, true);
      const [heard] = await listening;
      assert.deepEqual([heard!.text, heard!.encrypted, heard!.content_type], ['pelican canary', true, 'text/plain']);
      assert.deepEqual(
        (await synced('--device', 'phone')).map((m) => [m.text, m.encrypted]),
        [['pelican canary', true]],
      );

      const raw = await connect(server, ben, 'raw', { e2e: false });
      try {
        const stored = (await raw.client.getDiff('', 100)).messages.filter(
          (m) => m.serverMsgId === sent!.server_msg_id,
        );
        assert.equal(stored.length, 1);
        assert.equal(stored[0]!.contentType, E2E_CONTENT_TYPE);
        assert.ok(!Buffer.from(stored[0]!.body).toString('latin1').includes('canary'), 'no plaintext on the server');
      } finally {
        await raw.client.close();
      }
    });

    it('keeps the conversation encrypted, and the same key file opens new messages on the next run', async () => {
      const [sent] = await imctl('send', '--user', amy, '--to', ben, '--text', 'second secret');
      assert.equal(sent!.encrypted, true, 'encrypted without --e2e: amy’s key file knows the conversation is');
      assert.deepEqual(
        (await synced('--device', 'phone')).map((m) => [m.text, m.encrypted]),
        [['second secret', true]],
      );
      const [reply] = await imctl('send', '--user', ben, '--device', 'phone', '--to', amy, '--text', 'got both');
      assert.equal(reply!.encrypted, true);
      const [page] = await imctl('sync', '--user', amy, '--no-state');
      const dm = (page!.messages as (Entry & { conversation: string })[]).filter(
        (m) => m.conversation === 'dm:e2e-amy:e2e-ben',
      );
      const texts = dm.map((m) => [m.text, m.encrypted]);
      assert.deepEqual(texts, [
        ['pelican canary', true],
        ['second secret', true],
        ['got both', true],
      ]);
    });

    it('prints the same safety number on both sides', async () => {
      const [mine] = await imctl('safety-number', '--user', amy, '--with', ben);
      const [theirs] = await imctl('safety-number', '--user', ben, '--device', 'phone', '--with', amy);
      assert.match(String(mine!.safety_number).replaceAll(' ', ''), /^\d{60}$/);
      assert.equal(mine!.safety_number, theirs!.safety_number);
      assert.deepEqual([mine!.user, mine!.with], [amy, ben]);
    });

    it('refuses --e2e to a user without keys with a clear error and no stack trace', async () => {
      const err = (await imctl('send', '--user', amy, '--to', 'e2e-nokeys', '--text', 'x', '--e2e').then(
        () => assert.fail('imctl succeeded'),
        (e: unknown) => e,
      )) as { code: number; stderr: string };
      assert.equal(err.code, 1);
      const lines = err.stderr.trim().split('\n');
      const { error } = JSON.parse(lines.at(-1)!) as { error: { code: string; message: string } };
      assert.equal(error.code, 'E2E_UNSUPPORTED');
      assert.match(error.message, /no device with end-to-end keys/);
      assert.ok(!err.stderr.includes('    at '), 'no stack trace');
    });

    it('another key file is a new device: what was sent before shows refused, and its contacts are told', async () => {
      const other = join(home, 'elsewhere', 'phone-keys.json');
      const before = await synced('--device', 'phone', '--no-state', '--e2e-keys', other);
      const encrypted = before.filter((m) => m.encrypted);
      assert.equal(encrypted.length, 3);
      for (const m of encrypted) {
        assert.equal(m.text, undefined);
        assert.equal(m.content_type, E2E_CONTENT_TYPE);
        assert.ok(m.refused?.code.startsWith('E2E_'), `refused with a reason: ${JSON.stringify(m)}`);
        assert.ok(!('body_base64' in m), 'no ciphertext printed');
      }
      assert.equal(statSync(other).mode & 0o777, 0o600);
      const { lines, warnings } = await imctlOutput({}, 'send', '--user', amy, '--to', ben, '--text', 'to new keys');
      assert.equal(lines[0]!.encrypted, true);
      const warning = warnings
        .map((w) => w.warning as Record<string, unknown>)
        .find((w) => w.code === 'IDENTITY_CHANGED');
      assert.deepEqual([warning?.user, warning?.device], [ben, 'phone']);
      const after = await synced('--device', 'phone', '--no-state', '--e2e-keys', other);
      assert.deepEqual(after.at(-1)!.text, 'to new keys');
      const refused = await imctlFails('sync', '--user', amy, '--e2e-keys', other);
      assert.equal(refused.code, 'INVALID_ARGUMENT');
      assert.match(refused.message, /holds the end-to-end keys of e2e-ben\/phone/);
    });
  });
});
