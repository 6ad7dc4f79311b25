import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ImClient, type Message, type SendResult } from '../../client/sdk.ts';
import { openSqlite } from '../../lib/sqlite.ts';
import { devSigningKey, loadOrCreateDevKey } from '../../lib/dev-key.ts';
import { tokenSigner } from '../../lib/token.ts';
import { NoticeApiClient, OperatorClient } from '../../client/notice-api.ts';
import { eventually, eventuallyAsync, sleep, useTestDevKey } from './harness.ts';

const root = join(import.meta.dirname, '../..');

/** `npm start` as a person runs it, in its own process, on a data directory and a port of the test's. */
class EmbeddedProcess {
  private child: ChildProcess | undefined;
  output = '';

  constructor(
    readonly dataDir: string,
    readonly port: number,
  ) {}

  get url(): string {
    return `ws://127.0.0.1:${this.port}`;
  }

  /** Starts it (with `env` on top of the test's) and waits until it listens; rejects with its output if it exits first. */
  async start(env: Record<string, string> = {}): Promise<void> {
    const exited = this.spawn(env);
    const up = (async () => {
      await eventually(() => this.output.includes('gateway listening'), 'the embedded server to listen', 30_000);
    })();
    await Promise.race([up, exited.then((code) => Promise.reject(new Error(`exited ${code}: ${this.output}`)))]);
  }

  /** Starts it and waits for it to exit (for starts that must be refused): its exit code and output. */
  async startRefused(): Promise<{ code: number | null; output: string }> {
    const code = await this.spawn();
    return { code, output: this.output };
  }

  kill9(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  }

  /** Resolves when the process has exited (at once if it is not running). */
  exited(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => child.once('exit', () => resolve()));
  }

  private spawn(env: Record<string, string> = {}): Promise<number | null> {
    this.output = '';
    const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'app/embedded.ts')], {
      cwd: root,
      env: { ...process.env, IM_PORT: String(this.port), IM_DATA_DIR: this.dataDir, IM_LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    child.stdout.on('data', (c: Buffer) => (this.output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (this.output += c.toString()));
    return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

describe('the embedded server keeps its data on disk (IM_DATA_DIR)', () => {
  useTestDevKey();
  const dataDir = mkdtempSync(join(tmpdir(), 'im-data-'));
  const started: EmbeddedProcess[] = [];
  after(async () => {
    for (const p of started) await p.kill9();
  });

  it('loses nothing acknowledged to a kill -9 mid-stream: once each, in order, seqs never reused, old keys valid', async () => {
    const server = new EmbeddedProcess(dataDir, await freePort());
    started.push(server);
    await server.start();
    const signer = tokenSigner(devSigningKey(await loadOrCreateDevKey()));
    const client = (user: string, device: string) =>
      new ImClient({
        url: server.url,
        token: () => signer.sign(user, device, 600),
        backoff: { minMs: 50, maxMs: 300 },
        sendTimeoutMs: 60_000,
      });
    const senders = ['s1', 's2', 's3', 's4'].map((u) => client(u, 'phone'));
    for (const s of senders) s.on('error', () => undefined);
    await Promise.all(senders.map((s) => s.connect()));
    const reader = client('reader', 'pc');
    await reader.connect();
    const first = await senders[0]!.send({ user: 'reader' }, { text: 'first' }, 'fixed-id');
    await eventually(() => reader.state.inboxSeq >= 1, 'the reader sees the first message');
    await reader.close();
    const oldKey = reader.state.syncKey;

    // Each sender sends its own numbered stream to the reader, one after another, and records what was acknowledged.
    const perSender = 60;
    const acked = senders.map(() => new Map<number, SendResult>());
    let total = 0;
    const streams = senders.map(async (s, i) => {
      for (let n = 0; n < perSender; n++) {
        const result = await s.send({ user: 'reader' }, { text: `s${i + 1}:${n}` }, `s${i + 1}-${n}`);
        acked[i]!.set(n, result);
        total++;
      }
    });
    await eventually(() => total >= 80, 'some sends acknowledged before the kill', 60_000);
    await server.kill9();
    await sleep(300);
    await server.start();
    await Promise.all(streams);

    // A retried client_msg_id gets the first result; nothing new is stored.
    const retried = await senders[0]!.send({ user: 'reader' }, { text: 'first' }, 'fixed-id');
    assert.deepEqual([retried.serverMsgId, retried.seq], [first.serverMsgId, first.seq]);

    // The reader's key from before the crash still works, without reset.
    const resumed = client('reader', 'tablet');
    await resumed.connect();
    const fromOld = await resumed.getDiff(oldKey, 500);
    assert.equal(fromOld.reset, false, 'an old sync_key keeps working');
    assert.ok(fromOld.messages.every((m) => m.seq > 1));

    // Everything from scratch: each acknowledged message once, each sender's stream in order, no seq twice.
    const all: Message[] = [];
    let key = '';
    for (let more = true, pages = 0; more && pages < 100; pages++) {
      const page = await resumed.getDiff(key, 500);
      assert.equal(page.reset, false);
      all.push(...page.messages.filter((m) => !m.op));
      key = page.syncKey;
      more = page.hasMore;
    }
    const seqs = all.map((m) => m.seq);
    assert.equal(new Set(seqs).size, seqs.length, 'no seq reused');
    assert.deepEqual(
      seqs,
      [...seqs].sort((a, b) => a - b),
    );
    const texts = all.map((m) => Buffer.from(m.body).toString());
    assert.equal(new Set(texts).size, texts.length, 'no message twice');
    for (const [i, sent] of acked.entries()) {
      const mine = texts.filter((t) => t.startsWith(`s${i + 1}:`)).map((t) => Number(t.split(':')[1]));
      assert.deepEqual(
        mine,
        Array.from({ length: perSender }, (_, n) => n),
        `sender ${i + 1}: every message once, in order`,
      );
      for (const [n, result] of sent) {
        const stored = all.find((m) => m.clientMsgId === `s${i + 1}-${n}`);
        assert.equal(stored?.serverMsgId, result.serverMsgId, 'the acknowledged id is the stored one');
      }
    }
    for (const s of [...senders, resumed]) await s.close();
  });

  it('a notice scheduled before a kill -9 fires after the restart, once; one killed mid-firing ends whole, once', async () => {
    const server = new EmbeddedProcess(mkdtempSync(join(tmpdir(), 'im-data-')), await freePort());
    started.push(server);
    const env = { IM_OPERATOR_TOKEN: 'restart-test-operator', IM_NOTICE_LEASE_MS: '1000' };
    await server.start(env);
    const baseUrl = `http://127.0.0.1:${server.port}`;
    const operator = new OperatorClient({ baseUrl, token: env.IM_OPERATOR_TOKEN });
    const app = await operator.createApp({
      name: 'restart',
      scopes: ['unicast', 'multicast', 'read'],
      rate_limits: { requests_per_second: 100, recipients_per_second: 10_000 },
    });
    const api = new NoticeApiClient({ baseUrl, appId: app.id, secret: app.secret });
    const scheduled = await api.send({
      message_id: 'scheduled',
      target: { users: ['bob'] },
      content: { title: 'Scheduled', body: '' },
      deliver_at_ms: Date.now() + 1500,
    });
    await server.kill9();
    await sleep(2000);
    // Killed again after the second chunk of recipients: the scheduled notice's (one user), then the first of three.
    await server.start({ ...env, IM_FAULT_KILL_AFTER_NOTICE_CHUNKS: '2' });
    await eventuallyAsync(async () => (await api.get(scheduled.id)).state === 'sent', 'the scheduled notice fired');
    const users = Array.from({ length: 1500 }, (_, i) => `user${i}`);
    const multicast = await api.send({ message_id: 'multi', target: { users }, content: { title: 'Multi', body: '' } });
    await server.exited();
    await server.start(env);
    await eventuallyAsync(async () => (await api.get(multicast.id)).state === 'sent', 'the multicast finished', 20_000);

    const signer = tokenSigner(devSigningKey(await loadOrCreateDevKey()));
    const noticesOf = async (user: string) => {
      const client = new ImClient({ url: server.url, token: () => signer.sign(user, 'audit', 600), reconnect: false });
      await client.connect();
      const page = await client.getDiff('', 500);
      await client.close();
      return page.messages.flatMap((m) => (m.notice ? [m.notice.noticeId] : []));
    };
    assert.deepEqual(await noticesOf('bob'), [scheduled.id], 'fired once');
    // Users from the chunk written before the kill, the ones after it, and the last.
    for (const i of [0, 499, 500, 999, 1000, 1499]) {
      assert.deepEqual(await noticesOf(`user${i}`), [multicast.id], `user${i} has it once`);
    }
    const done = await api.get(multicast.id);
    assert.equal(done.counts.stored, 1500);
  });

  it('refuses a second server on the same data directory while the first runs', async () => {
    const second = new EmbeddedProcess(dataDir, await freePort());
    const { code, output } = await second.startRefused();
    assert.notEqual(code, 0);
    assert.match(output, /is in use by another process/);
  });

  it('refuses a data directory of another format instead of misreading it', async () => {
    const other = mkdtempSync(join(tmpdir(), 'im-data-'));
    const db = openSqlite(join(other, 'im.db'));
    db.exec("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL); INSERT INTO meta VALUES ('format', '999')");
    db.close();
    const { code, output } = await new EmbeddedProcess(other, await freePort()).startRefused();
    assert.notEqual(code, 0);
    assert.match(output, /holds data format 999, and this version reads format 1/);
  });
});
