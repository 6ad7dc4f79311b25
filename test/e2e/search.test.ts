import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect, startServer, type Target } from './harness.ts';
import type { Embedded } from '../../app/embedded.ts';
import Database from 'better-sqlite3';
import { dmConversation } from '../../lib/conversation.ts';
import { eventuallyFinds, found, searchSuite, u } from './search.suite.ts';

// Services as objects, and with every call between them over loopback gRPC (the index sits behind offline's writes).
for (const transport of ['direct', 'grpc'] as const) {
  searchSuite(`embedded, in memory, ${transport}`, async () => {
    const server = await startServer({ transport });
    const httpUrl = server.gateway.url.replace(/^ws/, 'http').replace(/\/v1\/ws$/, '');
    return Object.assign(server, { httpUrl, noticeUrl: httpUrl, operatorToken: server.operator.token });
  });
}

describe('message search (embedded, data directory)', () => {
  it('keeps the index across a restart, and indexes what comes after', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'im-search-'));
    const [alice, bob] = [u('r-alice'), u('r-bob')];
    let server = await startServer({ dataDir });
    let a = await connect(server, alice, 'laptop');
    await a.client.send({ user: bob }, { text: 'remember the walrus' });
    await eventuallyFinds(a.client, 'walrus', 1);
    await a.client.close();
    await server.close();

    server = await startServer({ dataDir });
    try {
      a = await connect(server, alice, 'laptop');
      const b = await connect(server, bob, 'phone');
      await eventuallyFinds(b.client, 'walrus', 1);
      await a.client.send({ user: bob }, { text: 'and the narwhal' });
      await eventuallyFinds(b.client, 'narwhal', 1);
      await a.client.close();
      await b.client.close();
    } finally {
      await server.close();
    }
  });
});

describe('imctl search', () => {
  const runFile = promisify(execFile);
  const IMCTL = join(import.meta.dirname, '../../client/imctl.js');
  let server: Embedded & Target;
  const home = mkdtempSync(join(tmpdir(), 'imctl-search-'));
  before(async () => {
    server = await startServer();
  });
  after(() => server.close());
  const imctl = async (...args: string[]) => {
    const url = server.gateway.url.replace(/\/v1\/ws$/, '');
    const env = { ...process.env, IM_HOME: home, IM_SERVER: url };
    const { stdout } = await runFile(process.execPath, [IMCTL, ...args], { env, timeout: 30_000 });
    return JSON.parse(stdout) as Record<string, unknown>;
  };

  it("prints the hits of the user's words as JSON, and INVALID_ARGUMENT for a bad option", async () => {
    const [ann, ben] = [u('i-ann'), u('i-ben')];
    await imctl('send', '--user', ann, '--to', ben, '--text', 'see you at the 海边 tomorrow');
    const b = await connect(server, ben, 'phone');
    await eventuallyFinds(b.client, '海边', 1);
    await b.client.close();
    const out = await imctl('search', '--user', ben, 'see', '海边', '--kind', 'dm');
    const hits = out.hits as { from_user: string; snippet: string; highlights: unknown[] }[];
    assert.equal(hits.length, 1);
    assert.equal(hits[0]?.from_user, ann);
    assert.equal(hits[0]?.snippet, 'see you at the 海边 tomorrow');
    assert.equal(hits[0]?.highlights.length, 2);
    assert.equal(out.next_cursor, '');
    assert.deepEqual((await imctl('search', '--user', u('i-cat'), '海边')).hits, []);
    const failed = (await imctl('search', '--user', ben, 'see', '--kind', 'secret').then(
      () => assert.fail('imctl succeeded'),
      (e: unknown) => e,
    )) as { stderr: string };
    assert.equal((JSON.parse(failed.stderr.trim()) as { error: { code: string } }).error.code, 'INVALID_ARGUMENT');
    const noUser = (await imctl('search', 'see').then(
      () => assert.fail('imctl succeeded without --user'),
      (e: unknown) => e,
    )) as { stderr: string };
    assert.match(noUser.stderr, /INVALID_ARGUMENT.*--user/);
  });
});

describe('imctl search reindex (embedded, data directory)', () => {
  const runFile = promisify(execFile);
  const IMCTL = join(import.meta.dirname, '../../client/imctl.js');

  it('rebuilds from the inboxes what the index lost: a 1:1 message, an edit, a group, a recall', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'im-reindex-'));
    const [alice, bob, carol] = [u('x-alice'), u('x-bob'), u('x-carol')];
    let server = await startServer({ dataDir });
    let a = await connect(server, alice, 'laptop');
    await a.client.send({ user: bob }, { text: 'the okapi has stripes' }, 'x1');
    await a.client.edit(
      { conversation: dmConversation(alice, bob), fromDevice: 'laptop', clientMsgId: 'x1' },
      'the tapir has stripes',
    );
    const group = await a.client.createGroup('zoo', [bob, carol]);
    await a.client.send({ group: group.groupId }, { text: 'feeding the tapir at noon' });
    await a.client.send({ user: bob }, { text: 'the secret tapir password' }, 'x2');
    await a.client.recall({ conversation: dmConversation(alice, bob), fromDevice: 'laptop', clientMsgId: 'x2' });
    await eventuallyFinds(a.client, 'tapir', 2);
    await a.client.close();
    await server.close();
    // The index loses every document (a disk restored from an older backup, a bug): the inboxes still hold them.
    const db = new Database(join(dataDir, 'im.db'));
    db.exec('DELETE FROM search_docs');
    db.close();

    server = await startServer({ dataDir });
    try {
      a = await connect(server, alice, 'laptop');
      const b = await connect(server, bob, 'phone');
      await eventuallyFinds(a.client, 'tapir', 0);
      const env = { ...process.env, IM_OPERATOR_TOKEN: server.operator.token };
      const api = server.gateway.url.replace(/^ws/, 'http');
      const { stdout } = await runFile(process.execPath, [IMCTL, 'search', 'reindex', '--api', api], {
        env,
        timeout: 60_000,
      });
      const status = JSON.parse(stdout) as { state: string; scanned: number; applied: number };
      assert.equal(status.state, 'done');
      assert.ok(status.scanned >= 8, `scanned ${status.scanned}`);
      await eventuallyFinds(b.client, 'tapir', 2);
      assert.deepEqual(await found(b.client, { text: 'okapi' }), [], 'the edit, not the old text');
      assert.deepEqual(await found(b.client, { text: 'password' }), [], 'the recall stays recalled');
      const c = await connect(server, carol, 'pc');
      assert.deepEqual(
        (await c.client.search({ text: 'tapir' })).hits.map((h) => h.snippet),
        ['feeding the tapir at noon'],
      );
      for (const t of [a, b, c]) await t.client.close();
    } finally {
      await server.close();
    }
  });
});
