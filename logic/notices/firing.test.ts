import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ulid } from 'ulid';
import { createLogger } from '../../lib/logger.ts';
import { MemoryInboxStore } from '../../offline/inbox-store.memory.ts';
import { MemorySequencer } from '../../offline/sequencer.memory.ts';
import { SYSTEM_STREAM } from '../../offline/index.ts';
import { message } from '../../test/fixtures.ts';
import { memoryOffline } from '../../test/offline.ts';
import { Firing } from './firing.ts';
import { Lanes } from './lanes.ts';
import { MemoryNoticeStore } from './notice-store.memory.ts';
import type { NoticeRecord } from './notice-store.ts';
import { MemoryTagStore } from './tag-store.memory.ts';

const T = 1_700_000_000_000;

function noticeTo(target: NoticeRecord['target']): NoticeRecord {
  const id = `ntc_${ulid().toLowerCase()}`;
  return {
    id,
    appId: 'app_1',
    messageId: `msg-${id}`,
    target,
    content: { title: 'Parcel', body: 'on its way', data: {}, imageUrl: '', sound: '', category: '', collapseKey: '' },
    priority: 'normal',
    createdAtMs: T,
    deliverAtMs: T,
    expireAtMs: T + 86_400_000,
    state: 'scheduled',
    serverMsgId: id,
    firedAtMs: 0,
    cancelledAtMs: 0,
    claimOwner: '',
    claimUntilMs: 0,
    timelineSeq: 0,
  };
}

/** A Firing over memory stores whose inbox writes fail while `state.dies`, on a clock the test moves. */
function setup() {
  const clock = { now: T };
  const offline = memoryOffline({
    sequencer: new MemorySequencer(10_000, () => clock.now),
    inbox: new MemoryInboxStore(),
  });
  const store = new MemoryNoticeStore();
  const state = { dies: true };
  const writeInbox = offline.writeInbox.bind(offline);
  offline.writeInbox = (request) =>
    state.dies ? Promise.reject(new Error('killed after recording the seqs')) : writeInbox(request);
  const quiet = () => Promise.resolve({ delivered: 0, gatewayCalls: 0 });
  const firing = new Firing({
    store,
    tags: new MemoryTagStore(),
    offline,
    push: { deliverMessages: quiet, deliverToRoom: quiet },
    lanes: new Lanes(2, () => undefined),
    log: createLogger('silent'),
    now: () => clock.now,
    chunkSize: 200,
    renew: () => Promise.resolve(true),
  });
  /** Fires `record` once (dying after its seqs are recorded), then moves the clock past the in-flight TTL. */
  const fireAndDie = async (record: NoticeRecord) => {
    await store.create(record);
    const claimed = (await store.claim(record.id, 'logic-1', clock.now, clock.now + 60_000))!;
    await assert.rejects(firing.fire(claimed, true), /killed/);
    state.dies = false;
    clock.now += 11_000;
  };
  /** Writes an entry for `user` at a new seq and returns how far a reader syncing from 0 gets now. */
  const passedBy = async (user: string) => {
    const [seq] = (await offline.allocateSeqs({ users: [user] })).seqs;
    await offline.writeInbox({ entries: [{ user, message: message(seq!) }] });
    return (await offline.readInboxEncoded({ user, afterSeq: 0, limit: 10 })).throughSeq;
  };
  const noticesAfter = async (user: string, afterSeq: number) =>
    (await offline.readInbox({ user, afterSeq, limit: 10 })).messages.filter((m) => m.notice).map((m) => m.serverMsgId);
  return { store, firing, fireAndDie, passedBy, noticesAfter };
}

describe('Firing a notice again after the firing that recorded its seqs died', () => {
  it("writes listed users' rows whose seqs lapsed at new seqs, after what readers passed meanwhile", async () => {
    const { store, firing, fireAndDie, passedBy, noticesAfter } = setup();
    const record = noticeTo({ kind: 'users', users: ['ann', 'bob'] });
    await fireAndDie(record);
    const passed = await passedBy('ann');
    await firing.fire((await store.get(record.id))!);
    assert.deepEqual(await noticesAfter('ann', passed), [record.serverMsgId], 'ann, after the cursor she had');
    assert.deepEqual(await noticesAfter('bob', 0), [record.serverMsgId]);
    const [chunk] = await store.chunks(record.id);
    assert.ok(
      chunk!.every((r) => r.seq > 1),
      `recorded anew: ${JSON.stringify(chunk)}`,
    );
  });

  it("writes a notice to everyone after the system timeline's entries readers passed meanwhile", async () => {
    const { store, firing, fireAndDie, passedBy, noticesAfter } = setup();
    const record = noticeTo({ kind: 'all' });
    await fireAndDie(record);
    const passed = await passedBy(SYSTEM_STREAM);
    await firing.fire((await store.get(record.id))!);
    assert.deepEqual(await noticesAfter(SYSTEM_STREAM, passed), [record.serverMsgId]);
  });
});
