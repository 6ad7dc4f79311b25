import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PushJob } from '../../proto/gen/im/v1/bus.pb.ts';
import type { Message, Notice } from '../../proto/gen/im/v1/message.pb.ts';
import { createLogger } from '../../lib/logger.ts';
import { MemoryRouteTable } from '../route-table.memory.ts';
import { MemoryDeadLetterStore } from './dead-letter-store.memory.ts';
import { MemoryDeviceTokenStore } from './device-token-store.memory.ts';
import { Notifier } from './notifier.ts';
import type { MobilePush, PushSender, SendOutcome } from './push-sender.ts';

/** A provider that takes everything and keeps what it was given (the decisions are what is tested here). */
class RecordingSender implements PushSender {
  readonly platform = 'apns';
  readonly sent: MobilePush[] = [];
  send(pushes: readonly MobilePush[]): Promise<SendOutcome[]> {
    this.sent.push(...pushes);
    return Promise.resolve(pushes.map(() => ({ kind: 'sent' as const })));
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

const notice = (fields: Partial<Notice>): Notice => ({
  noticeId: 'ntc_1',
  appId: 'app_1',
  title: 'Sale',
  body: 'Today',
  data: {},
  imageUrl: '',
  sound: '',
  category: '',
  collapseKey: '',
  priority: 'normal',
  expireAtMs: 0,
  audience: 'users',
  ...fields,
});

function message(seq: number, fields: Partial<Message> = {}): Message {
  return {
    serverMsgId: `m${seq}`,
    conversation: 'dm:alice:bob',
    fromUser: 'alice',
    fromDevice: 'laptop',
    clientMsgId: `c${seq}`,
    seq,
    stream: 'inbox',
    sentAtMs: 0,
    contentType: 'text/plain',
    body: Buffer.from(`text ${seq}`),
    prevSeq: 0,
    streamIndex: 0,
    ...fields,
  };
}

async function setup(cursor = 0) {
  let now = 1_000_000;
  const tokens = new MemoryDeviceTokenStore();
  await tokens.put({
    user: 'bob',
    device: 'phone',
    platform: 'apns',
    token: 'ab'.repeat(32),
    topic: 'com.example',
    environment: 'production',
    locale: '',
    previews: true,
    updatedAtMs: 1,
  });
  const sender = new RecordingSender();
  const routes = new MemoryRouteTable();
  const notifier = new Notifier({
    tokens,
    routes,
    offline: { getCursor: () => Promise.resolve({ seq: cursor }) },
    badges: (users) => Promise.resolve(users.map(() => 7)),
    senders: { apns: sender },
    deadLetters: new MemoryDeadLetterStore(),
    log: createLogger('silent'),
    options: { coalesceWindowMs: 1000, maxAttempts: 2, retryBaseMs: 1 },
    now: () => now,
  });
  const job = (m: Message): PushJob => ({ user: 'bob', message: m, storedAtMs: now, audience: '' });
  return { notifier, sender, routes, job, advance: (ms: number) => (now += ms), now: () => now };
}

describe('Notifier', () => {
  it('alerts with the text, badge and priority; a notice with its own priority and expiry', async () => {
    const { notifier, sender, job, now } = await setup();
    await notifier.handle([job(message(1))]);
    const expireAtMs = now() + 60_000;
    await notifier.handle([
      job(message(2, { conversation: 'system', fromUser: 'app_1', notice: notice({ expireAtMs, priority: 'low' }) })),
    ]);
    assert.deepEqual(
      sender.sent.map((p) => [p.alert?.body, p.badge, p.priority, p.expireAtMs]),
      [
        ['text 1', 7, 'high', 0],
        ['Today', 7, 'normal', expireAtMs],
      ],
    );
  });

  it('never pushes an expired notice, an operation, a recalled entry or the user’s own message', async () => {
    const { notifier, sender, job, now } = await setup();
    await notifier.handle([
      job(message(1, { notice: notice({ expireAtMs: now() - 1 }), conversation: 'system' })),
      job(
        message(2, {
          op: { kind: { $case: 'read', value: { conversation: 'dm:alice:bob', seq: 1, stream: 'inbox', unread: 0 } } },
        }),
      ),
      job(message(3, { recalled: true })),
      job(message(4, { fromUser: 'bob' })),
    ]);
    assert.equal(sender.sent.length, 0);
  });

  it('shows no text of anything but plain text (an end-to-end ciphertext stays opaque)', async () => {
    const { notifier, sender, job } = await setup();
    await notifier.handle([job(message(1, { contentType: 'application/x-e2e', body: Buffer.from('ciphertext') }))]);
    assert.deepEqual(sender.sent[0]!.alert, { title: '', body: 'New message' });
  });

  it('skips a connected device and one whose cursor is past the message', async () => {
    const online = await setup();
    await online.routes.put({ user: 'bob', device: 'phone', node: 'gw', connId: 'c1', atMs: 1 }, 60_000);
    await online.notifier.handle([online.job(message(1))]);
    assert.equal(online.sender.sent.length, 0);
    const caughtUp = await setup(5);
    await caughtUp.notifier.handle([caughtUp.job(message(5))]);
    assert.equal(caughtUp.sender.sent.length, 0);
  });

  it('skips a device that registered its token after the message was stored (it was connected then)', async () => {
    const { notifier, sender, job } = await setup();
    const stale = { ...job(message(1)), storedAtMs: 0.5 };
    await notifier.handle([stale]);
    assert.equal(sender.sent.length, 0);
    await notifier.handle([job(message(2))]);
    assert.equal(sender.sent.length, 1);
  });

  it('coalesces a burst per conversation: one alert, then one silent update when the window ends', async () => {
    const { notifier, sender, job, advance } = await setup();
    await notifier.handle(Array.from({ length: 50 }, (_, i) => job(message(i + 1))));
    await notifier.handle([job(message(60, { conversation: 'dm:bob:carol', fromUser: 'carol' }))]);
    assert.deepEqual(
      sender.sent.map((p) => p.alert?.body),
      ['text 1', 'text 60'],
    );
    await notifier.flush();
    assert.equal(sender.sent.length, 2, 'not before the window ends');
    advance(1000);
    await notifier.flush();
    const update = sender.sent[2]!;
    assert.equal(update.alert, undefined);
    assert.equal(update.collapseId, sender.sent[0]!.collapseId);
    assert.equal(sender.sent.length, 3);
  });

  it('takes a job handed over again (a redelivery) as the same one: no second alert, no update for it', async () => {
    const { notifier, sender, job, advance } = await setup();
    await notifier.handle([job(message(1))]);
    await notifier.handle([job(message(1))]);
    advance(1000);
    await notifier.flush();
    assert.deepEqual(
      sender.sent.map((p) => p.alert?.body),
      ['text 1'],
    );
  });
});
