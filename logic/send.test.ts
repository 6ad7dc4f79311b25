import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ChatInput } from '../proto/gen/im/v1/bus.pb.ts';
import type { MessageOp } from '../proto/gen/im/v1/message.pb.ts';
import { createLogger } from '../lib/logger.ts';
import { MemoryInboxStore } from '../offline/inbox-store.memory.ts';
import { MemorySequencer } from '../offline/sequencer.memory.ts';
import { MemoryGroupStore } from './group-store.memory.ts';
import { Groups } from './groups.ts';
import { MemoryOutcomeStore } from './outcome-store.memory.ts';
import { outcomeKey } from './outcome-store.ts';
import { checkSendLimits, SendProcessor } from './send.ts';
import { quietPush, testSendLimits } from './send.fixture.ts';
import { memoryOffline } from '../test/offline.ts';

const limits = testSendLimits;
const push = quietPush;

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

describe('SendProcessor: a send retried after its seqs lapsed', () => {
  /** a → b through stores whose inbox write fails while `down`, with one clock for the processor and sequencer. */
  function brokenStore() {
    let now = 1_700_000_000_000;
    const inbox = new MemoryInboxStore();
    const offline = memoryOffline({ sequencer: new MemorySequencer(10_000, () => now), inbox });
    // down: the write fails. diesAfterRows: the rows are written, then the process dies before their seqs are
    // completed (their in-flight marks stay until they lapse).
    const state = { down: false, diesAfterRows: false };
    const writeInbox = offline.writeInbox.bind(offline);
    offline.writeInbox = async (request) => {
      if (state.down) throw new Error('inbox store down');
      if (!state.diesAfterRows) return writeInbox(request);
      await inbox.write(request.entries.map((e) => ({ user: e.user, message: e.message! })));
      throw new Error('killed before completing the seqs');
    };
    const sends = new SendProcessor({
      offline,
      push,
      groups: new Groups(new MemoryGroupStore(), { maxMembers: 10, maxNameChars: 10 }),
      outcomes: new MemoryOutcomeStore(),
      limits: { ...limits, seqInFlightTtlMs: 10_000 },
      log: createLogger('silent'),
      now: () => now,
    });
    const send = (clientMsgId: string, body: string) =>
      sends.process(
        ChatInput.create({
          user: 'a',
          device: 'phone',
          send: { clientMsgId, to: { kind: { $case: 'user', value: 'b' } }, body: Buffer.from(body) },
        }),
      );
    return { offline, state, send, wait: (ms: number) => (now += ms) };
  }
  const bodiesAfter = async (offline: ReturnType<typeof memoryOffline>, user: string, afterSeq: number) =>
    (await offline.readInbox({ user, afterSeq, limit: 10 })).messages.map((m) => Buffer.from(m.body).toString());

  it('stores it after what readers have passed since, never behind their cursors', async () => {
    const { offline, state, send, wait } = brokenStore();
    state.down = true;
    await assert.rejects(send('m1', 'first'), /inbox store down/);
    state.down = false;
    wait(11_000); // the in-flight marks of m1's seqs lapse: readers pass them as gaps
    const second = await send('m2', 'second');
    assert.deepEqual(await bodiesAfter(offline, 'b', 0), ['second']);
    const retried = await send('m1', 'first');
    assert.ok(retried.seq > second.seq, `retried at ${retried.seq}, after ${second.seq}`);
    for (const user of ['a', 'b']) assert.deepEqual(await bodiesAfter(offline, user, 1), ['second', 'first'], user);
  });

  it('keeps the seqs of rows an attempt wrote before it died, even while their in-flight marks still hold', async () => {
    const { offline, state, send, wait } = brokenStore();
    state.diesAfterRows = true;
    await assert.rejects(send('m1', 'first'), /killed/);
    state.diesAfterRows = false;
    wait(6_000); // past half the in-flight TTL, before it lapses: the rows are there, hidden from readers
    assert.equal((await send('m1', 'first')).seq, 1);
    wait(20_000);
    for (const user of ['a', 'b']) assert.deepEqual(await bodiesAfter(offline, user, 0), ['first'], user);
  });

  it('keeps the seqs of a retry that comes while they are still held, and of rows already written', async () => {
    const { offline, state, send, wait } = brokenStore();
    state.down = true;
    const first = await send('m1', 'first').catch(() => undefined);
    assert.equal(first, undefined);
    state.down = false;
    wait(2_000);
    const soon = await send('m1', 'first');
    assert.equal(soon.seq, 1, 'within the in-flight TTL the seqs allocated first are kept');
    wait(20_000);
    assert.equal((await send('m1', 'first')).seq, 1, 'a retry of a stored send changes nothing');
    assert.deepEqual(await bodiesAfter(offline, 'b', 0), ['first']);
  });
});
