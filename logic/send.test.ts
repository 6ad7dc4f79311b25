import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ChatInput } from '../proto/gen/im/v1/bus.pb.ts';
import type { MessageOp } from '../proto/gen/im/v1/message.pb.ts';
import { createLogger } from '../lib/logger.ts';
import { MemoryInboxStore } from '../offline/inbox-store.memory.ts';
import { MemorySequencer } from '../offline/sequencer.memory.ts';
import type { PushApi } from '../push/index.ts';
import { MemoryGroupStore } from './group-store.memory.ts';
import { Groups } from './groups.ts';
import { MemoryOutcomeStore } from './outcome-store.memory.ts';
import { outcomeKey } from './outcome-store.ts';
import { checkSendLimits, SendProcessor, type SendLimits } from './send.ts';
import { memoryOffline } from '../test/offline.ts';

const limits: SendLimits = {
  maxBodyBytes: 1024,
  dedupeTtlMs: 60_000,
  recallWindowMs: 10_000,
  editWindowMs: 20_000,
  maxEditsPerMessage: 2,
  largeGroupAbove: 100,
};

const push: PushApi = {
  deliverMessages: () => Promise.resolve({ delivered: 0 }),
  sendToConnection: () => Promise.resolve({ delivered: false }),
  deliverToRoom: () => Promise.resolve({ delivered: 0, gatewayCalls: 0 }),
  changeRoom: () => Promise.resolve({ changed: 0 }),
  registerDevice: () => Promise.reject(new Error('not used here')),
  unregisterDevice: () => Promise.reject(new Error('not used here')),
  listDevices: () => Promise.reject(new Error('not used here')),
  listDeadLetters: () => Promise.reject(new Error('not used here')),
  replayDeadLetters: () => Promise.reject(new Error('not used here')),
};

/** User a's phone sending to b through a SendProcessor on the in-process stores, with a clock the test moves. */
function setup() {
  let now = 1_700_000_000_000;
  const inbox = new MemoryInboxStore();
  const outcomes = new MemoryOutcomeStore();
  const sends = new SendProcessor({
    offline: memoryOffline({ sequencer: new MemorySequencer(), inbox }),
    push,
    groups: new Groups(new MemoryGroupStore(), { maxMembers: 10, maxNameChars: 10 }),
    outcomes,
    limits,
    log: createLogger('silent'),
    now: () => now,
  });
  const send = (clientMsgId: string, body: string, op?: MessageOp) =>
    sends.process(
      ChatInput.create({
        user: 'a',
        device: 'phone',
        send: { clientMsgId, to: { kind: { $case: 'user', value: 'b' } }, body: Buffer.from(body), op },
      }),
    );
  return { inbox, outcomes, send, wait: (ms: number) => (now += ms) };
}

const ref = (clientMsgId: string) => ({ fromDevice: 'phone', clientMsgId, serverMsgId: '' });
const edit = (clientMsgId: string): MessageOp => ({ kind: { $case: 'edit', value: ref(clientMsgId) } });
const recall = (clientMsgId: string): MessageOp => ({ kind: { $case: 'recall', value: ref(clientMsgId) } });

describe('SendProcessor: edits and recalls', () => {
  it('leaves no body in the rows or the outcome records of a recalled message and its edits', async () => {
    const { inbox, outcomes, send } = setup();
    await send('m1', 'secret');
    await send('e1', 'secret, edited', edit('m1'));
    await send('r1', '', recall('m1'));
    for (const id of ['m1', 'e1']) {
      const outcome = await outcomes.get(outcomeKey('a', 'phone', id));
      assert.deepEqual([outcome?.message?.body.length, outcome?.message?.recalled], [0, true], id);
    }
    for (const user of ['a', 'b']) {
      const { messages } = await inbox.read(user, 0, 10);
      assert.deepEqual(
        messages.map((m) => [m.op?.kind?.$case ?? 'message', m.recalled === true, m.body.length]),
        [
          ['message', true, 0],
          ['edit', true, 0],
          ['recall', false, 0],
        ],
        user,
      );
    }
    await assert.rejects(send('e2', 'revived', edit('m1')), { code: 'FORBIDDEN', message: /recalled/ });
    await send('r2', '', recall('m1')); // a second recall redacts again, harmlessly
  });

  it('counts each edit once, a retried one included, and refuses one past the limit', async () => {
    const { outcomes, send } = setup();
    await send('m1', 'v0');
    const first = await send('e1', 'v1', edit('m1'));
    assert.deepEqual(await send('e1', 'v1', edit('m1')), first);
    await send('e2', 'v2', edit('m1'));
    await assert.rejects(send('e3', 'v3', edit('m1')), { code: 'FORBIDDEN', message: /at most 2/ });
    const counted = (await outcomes.get(outcomeKey('a', 'phone', 'm1')))?.edits.map((e) => e.clientMsgId);
    assert.deepEqual(counted, ['e1', 'e2']);
  });

  it('keeps the edit window and the recall window, each from the time the message was sent', async () => {
    const { send, wait } = setup();
    await send('m1', 'v0');
    wait(limits.recallWindowMs + 1);
    await assert.rejects(send('r1', '', recall('m1')), { code: 'FORBIDDEN', message: /recalled within/ });
    await send('e1', 'v1', edit('m1'));
    wait(limits.editWindowMs - limits.recallWindowMs);
    await assert.rejects(send('e2', 'v2', edit('m1')), { code: 'FORBIDDEN', message: /edited within/ });
  });

  it('refuses limits whose windows outlive the outcome records that recalls and edits look up', () => {
    checkSendLimits({ ...limits, editWindowMs: limits.dedupeTtlMs, recallWindowMs: limits.dedupeTtlMs });
    assert.throws(() => checkSendLimits({ ...limits, editWindowMs: limits.dedupeTtlMs + 1 }), /logic: editWindowMs/);
    assert.throws(() => checkSendLimits({ ...limits, recallWindowMs: limits.dedupeTtlMs + 1 }), /recallWindowMs/);
  });
});
