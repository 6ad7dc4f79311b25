import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Bus, BusHandler, BusRecord } from '../lib/bus.ts';
import { createLogger } from '../lib/logger.ts';
import { MemoryInboxStore } from '../offline/inbox-store.memory.ts';
import { MemorySequencer } from '../offline/sequencer.memory.ts';
import { ChatInput } from '../proto/gen/im/v1/bus.pb.ts';
import { memoryOffline } from '../test/offline.ts';
import { MemoryKeyDirectory } from './keys/key-directory.memory.ts';
import { MemoryGroupStore } from './group-store.memory.ts';
import { startLogic } from './index.ts';
import { MemoryOutcomeStore } from './outcome-store.memory.ts';
import { quietPush, testSendLimits } from './send.fixture.ts';

/** A bus that hands chat_input's records to the test, which plays Kafka. */
function handOver(): { bus: Bus; handler: () => BusHandler } {
  let handler: BusHandler | undefined;
  const bus: Bus = {
    publish: () => Promise.resolve(),
    subscribe: (_topic, _group, h) => {
      handler = h;
      return Promise.resolve({ close: () => Promise.resolve() });
    },
    close: () => Promise.resolve(),
  };
  return { bus, handler: () => handler! };
}

describe('logic, a chat_input record handed over twice at once', () => {
  it('stores the send once: a replaced consumer and its successor never both decide it', async () => {
    const inbox = new MemoryInboxStore();
    const { bus, handler } = handOver();
    const logic = await startLogic({
      bus,
      offline: memoryOffline({ sequencer: new MemorySequencer(), inbox }),
      push: quietPush,
      groups: new MemoryGroupStore(),
      outcomes: new MemoryOutcomeStore(),
      keys: new MemoryKeyDirectory(),
      limits: { ...testSendLimits, group: { maxMembers: 10, maxNameChars: 10 } },
      log: createLogger('silent'),
      coalesceCalls: false,
    });
    const input = ChatInput.create({
      user: 'a',
      device: 'phone',
      send: { clientMsgId: 'c1', to: { kind: { $case: 'user', value: 'b' } }, body: Buffer.from('once') },
    });
    const record: BusRecord = {
      topic: 'chat_input',
      partition: 0,
      offset: 7,
      key: 'dm:a:b',
      value: ChatInput.encode(input).finish(),
    };
    await Promise.all([handler()(record), handler()(record)]);
    const stored = (await inbox.read('b', 0, 10)).messages;
    assert.deepEqual(
      stored.map((m) => new TextDecoder().decode(m.body)),
      ['once'],
      `stored as ${stored.map((m) => m.serverMsgId).join(', ')}`,
    );
    await logic.close();
  });
});
