import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { WebSocketServer, type WebSocket } from 'ws';
import { AuthResult, ClientFrame, ServerFrame, SyncResponse } from '../proto/gen/im/v1/client.pb.ts';
import { Message, Notice } from '../proto/gen/im/v1/message.pb.ts';
import { message } from '../test/fixtures.ts';
import { Notices, type NoticeEntry } from './notices.ts';
import { ImClient } from './sdk.ts';

const NOW = 1_800_000_000_000;

/** A notice entry in the system conversation: server_msg_id s<seq>, notice id n<seq>. */
function noticeMessage(seq: number, fields: Partial<Notice> = {}, stream = 'inbox'): Message {
  return Message.create({
    serverMsgId: `s${seq}`,
    conversation: 'system',
    fromUser: '',
    seq,
    stream,
    sentAtMs: NOW - 1000,
    notice: Notice.create({
      noticeId: `n${seq}`,
      appId: 'app_orders',
      title: `title ${seq}`,
      body: `body ${seq}`,
      data: { order: String(seq) },
      priority: 'normal',
      expireAtMs: NOW + 60_000,
      audience: 'users',
      ...fields,
    }),
  });
}

/** The recall entry of the notice at `seq` (the server sets the notice on it too). */
function noticeRecall(seq: number, ofSeq: number, stream = 'inbox'): Message {
  return Message.create({
    ...noticeMessage(seq, {}, stream),
    op: { kind: { $case: 'recall', value: { fromDevice: '', clientMsgId: '', serverMsgId: `s${ofSeq}` } } },
  });
}

describe('Notices', () => {
  it('turns a notice entry into a plain NoticeEntry', () => {
    const shown = new Notices(() => NOW).classify(noticeMessage(3, { sound: 'ding', collapseKey: 'orders' }));
    assert.deepEqual(shown, {
      kind: 'notice',
      entry: {
        noticeId: 'n3',
        appId: 'app_orders',
        title: 'title 3',
        body: 'body 3',
        data: { order: '3' },
        imageUrl: '',
        sound: 'ding',
        category: '',
        collapseKey: 'orders',
        priority: 'normal',
        expireAtMs: NOW + 60_000,
        audience: 'users',
        seq: 3,
        stream: 'inbox',
        sentAtMs: NOW - 1000,
        serverMsgId: 's3',
      },
    });
  });

  it('hides a notice at or past its expiry, and a recalled one (a tombstone)', () => {
    const notices = new Notices(() => NOW);
    assert.equal(notices.classify(noticeMessage(1, { expireAtMs: NOW })).kind, 'hidden');
    assert.equal(notices.classify(noticeMessage(2, { expireAtMs: NOW - 1 })).kind, 'hidden');
    assert.equal(notices.classify({ ...noticeMessage(3), recalled: true }).kind, 'hidden');
    assert.equal(notices.classify(noticeMessage(4, { expireAtMs: 0 })).kind, 'notice');
  });

  it('reports the recall of a notice it showed by notice id, once; a recall of one it did not show is hidden', () => {
    const notices = new Notices(() => NOW);
    notices.classify(noticeMessage(1, {}, 'system'));
    assert.deepEqual(notices.classify(noticeRecall(2, 1, 'system')), { kind: 'noticeRecalled', noticeId: 'n1' });
    assert.equal(notices.classify(noticeRecall(3, 1, 'system')).kind, 'hidden');
    assert.equal(notices.classify(noticeRecall(4, 99)).kind, 'hidden');
  });

  it('leaves chat messages and their operations to the message event', () => {
    const notices = new Notices(() => NOW);
    const chatRecall = Message.create({
      ...message(2),
      op: { kind: { $case: 'recall', value: { fromDevice: 'phone', clientMsgId: 'c1', serverMsgId: 's1' } } },
    });
    const readSystem = Message.create({
      ...message(3),
      conversation: 'system',
      op: { kind: { $case: 'read', value: { conversation: 'system', seq: 1, stream: 'inbox', unread: 0 } } },
    });
    for (const m of [message(1), chatRecall, readSystem]) assert.equal(notices.classify(m).kind, 'message');
  });
});

/** A gateway that answers the SDK's handshake, syncs (from `pages`, then empty) and acks, and pushes on demand. */
class FakeGateway {
  readonly pages: Partial<SyncResponse>[] = [];
  private readonly wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  private socket: WebSocket | undefined;
  private last: Partial<SyncResponse> = {};

  get url(): string {
    return `ws://127.0.0.1:${(this.wss.address() as AddressInfo).port}`;
  }

  constructor() {
    this.wss.on('connection', (ws) => {
      this.socket = ws;
      const auth = { user: 'bob', device: 'phone', connId: 'c', heartbeatIntervalMs: 60_000 };
      this.send(0, { $case: 'authResult', value: AuthResult.create(auth) });
      ws.on('message', (data: Buffer) => this.onFrame(ClientFrame.decode(data)));
    });
  }

  deliver(messages: Message[]): void {
    this.send(0, { $case: 'deliver', value: { messages } });
  }

  listening(): Promise<unknown> {
    return once(this.wss, 'listening');
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.wss.close(() => resolve()));
  }

  private onFrame({ requestId, body }: ClientFrame): void {
    if (body?.$case === 'sync') {
      const page = this.pages.shift() ?? { ...this.last, messages: [] };
      this.last = page;
      this.send(requestId, { $case: 'sync', value: SyncResponse.create({ syncKey: 'k', ...page }) });
    } else if (body?.$case === 'ack') {
      this.send(requestId, { $case: 'ackResult', value: { syncKey: 'k', inboxSeq: body.value.inboxSeq } });
    } else if (body?.$case === 'ping') {
      this.send(requestId, { $case: 'pong', value: { clientTimeMs: body.value.clientTimeMs, serverTimeMs: 0 } });
    }
  }

  private send(requestId: number, body: ServerFrame['body']): void {
    this.socket?.send(ServerFrame.encode({ requestId, body }).finish());
  }
}

async function until(what: string, done: () => boolean): Promise<void> {
  for (const deadline = Date.now() + 5_000; !done(); await new Promise((r) => setTimeout(r, 10))) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
  }
}

describe('ImClient with notices', () => {
  const gateway = new FakeGateway();
  before(() => gateway.listening());
  after(() => gateway.close());

  it('emits notices (inbox and system timeline) as notice events, never as messages, and their recalls', async () => {
    const now = Date.now();
    const live = { expireAtMs: now + 60_000 };
    const all = { ...live, audience: 'all' };
    gateway.pages.push({
      messages: [
        message(1),
        noticeMessage(2, live),
        noticeMessage(3, { expireAtMs: now - 1 }),
        { ...noticeMessage(10, all, 'system'), prevSeq: 7 },
      ],
      inboxSeq: 3,
      streams: [{ stream: 'system', seq: 10, index: 0 }],
      unread: [
        { conversation: 'dm:a:b', unread: 1, readSeq: 0 },
        { conversation: 'system', unread: 2, readSeq: 0 },
      ],
      totalUnread: 3,
    });
    const client = new ImClient({ url: gateway.url, token: 't', reconnect: false });
    const messages: Message[] = [];
    const notices: NoticeEntry[] = [];
    const recalled: string[] = [];
    client.on('message', (m) => messages.push(m));
    client.on('notice', (n) => notices.push(n));
    client.on('noticeRecalled', (id) => recalled.push(id));
    await client.connect();
    try {
      assert.deepEqual(
        messages.map((m) => m.serverMsgId),
        ['s1'],
      );
      assert.deepEqual(
        notices.map((n) => [n.noticeId, n.stream]),
        [
          ['n2', 'inbox'],
          ['n10', 'system'],
        ],
      );
      assert.equal(client.unread.get('system'), 2);

      // The system timeline continues live from the cursor the sync reported; the recall names a notice shown.
      gateway.deliver([{ ...noticeMessage(12, all, 'system'), prevSeq: 10 }]);
      await until('the live notice', () => notices.length === 3);
      assert.equal(client.unread.get('system'), 3);
      gateway.deliver([noticeRecall(4, 2)]);
      await until('the recall', () => recalled.length === 1);
      assert.deepEqual(recalled, ['n2']);
      assert.deepEqual(
        messages.map((m) => m.serverMsgId),
        ['s1'],
      );
      assert.deepEqual(client.state.streams, { system: 12 });
      assert.equal(client.state.inboxSeq, 4);
    } finally {
      await client.close();
    }
  });
});
