import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { ensureTopics } from '../infra/kafka-topics.ts';
import { engines } from '../test/engines.ts';
import { busContract, eventually } from './bus.contract.ts';
import { consume } from './bus-consumer.ts';
import { KafkaBus } from './bus.kafka.ts';
import { partitionFor, type BusRecord } from './bus.ts';
import { createLogger } from './logger.ts';
import { deadLetterTopic } from './topics.ts';

/** Set in the child process of the crash test: it handles one record and hangs until it is killed. */
const CRASH_CHILD = 'IM_KAFKA_BUS_CRASH_CHILD';

interface ChildArgs {
  brokers: string[];
  topic: string;
  group: string;
}

const text = (r: BusRecord) => Buffer.from(r.value).toString();
const log = createLogger(process.env.IM_LOG_LEVEL ?? 'silent');
const run = randomUUID().slice(0, 8);
const created: string[] = [];
let topicNo = 0;

async function kafkaBrokers(): Promise<string[]> {
  return (await engines('kafka')).kafka.brokers;
}

/** A topic unique to this run; deleted at the end, with every other topic this run created. */
async function newTopic(brokers: string[], partitions: number, name = `bus-test-${run}-${++topicNo}`): Promise<string> {
  await ensureTopics(brokers, [{ name, partitions }]);
  created.push(name);
  return name;
}

async function crashChild({ brokers, topic, group }: ChildArgs): Promise<void> {
  const bus = new KafkaBus({ brokers, clientId: 'bus-test-crash-child' });
  await bus.subscribe(topic, group, (r) => {
    process.stdout.write(`handled ${r.offset} ${text(r)}\n`);
    return new Promise<void>(() => undefined);
  });
}

if (process.env[CRASH_CHILD] !== undefined) {
  await crashChild(JSON.parse(process.env[CRASH_CHILD]) as ChildArgs);
} else {
  after(async () => {
    if (created.length === 0) return;
    const kafka = new Kafka({
      clientId: 'bus-test-cleanup',
      brokers: await kafkaBrokers(),
      logLevel: logLevel.NOTHING,
    });
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.deleteTopics({ topics: created, timeout: 30_000 });
    } finally {
      await admin.disconnect();
    }
  });

  busContract('kafka', async () => {
    const brokers = await kafkaBrokers();
    return {
      bus: new KafkaBus({ brokers, clientId: 'bus-contract', log, retryDelayMs: 20 }),
      newTopic: (partitions) => newTopic(brokers, partitions),
    };
  });

  describe('KafkaBus', () => {
    let brokers: string[];
    let bus: KafkaBus;
    before(async () => {
      brokers = await kafkaBrokers();
      bus = new KafkaBus({ brokers, clientId: 'bus-kafka-test', log, retryDelayMs: 20 });
    });
    after(async () => {
      await bus.close();
    });

    it('hands a record over again to the group when its consumer dies after handling, before committing', async () => {
      const topic = await newTopic(brokers, 1);
      const group = `g-${randomUUID()}`;
      await bus.publish(topic, 'k', Buffer.from('only'));

      // Without this the child would talk to the test runner as if it were a test file.
      const env = { ...process.env };
      delete env.NODE_TEST_CONTEXT;
      const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url)], {
        cwd: fileURLToPath(new URL('..', import.meta.url)),
        env: { ...env, [CRASH_CHILD]: JSON.stringify({ brokers, topic, group } satisfies ChildArgs) },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let out = '';
      let exited = false;
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      const exit = new Promise<void>((resolve) => child.on('exit', () => ((exited = true), resolve())));
      try {
        await eventually(() => out.includes('handled 0 only') || exited, 60_000, 'the child to handle the record');
        assert.equal(exited, false, `the child exited early; its output: ${out}`);
      } finally {
        child.kill('SIGKILL');
        await exit;
      }

      const seen: BusRecord[] = [];
      const sub = await bus.subscribe(topic, group, (r) => (seen.push(r), Promise.resolve()));
      await eventually(() => seen.length > 0, 60_000, 'the record in a new consumer of the group');
      await sub.close();
      assert.deepEqual(
        seen.map((r) => [r.offset, text(r)]),
        [[0, 'only']],
      );
    });

    it('keeps per-key order across many partitions and puts each key where partitionFor says', async () => {
      const partitions = 6;
      const topic = await newTopic(brokers, partitions);
      const keys = Array.from({ length: 30 }, (_, k) => `key-${k}`);
      const perKey = 40;
      // Not awaited one by one: concurrent publishes share sends, and call order is publish order.
      const sends: Promise<void>[] = [];
      for (let i = 0; i < perKey; i++) {
        for (const key of keys) sends.push(bus.publish(topic, key, Buffer.from(`${key}:${i}`)));
      }
      await Promise.all(sends);

      const seen: BusRecord[] = [];
      // Handlers that take random time: records of other keys overtake each other, one key's never do.
      const sub = await bus.subscribe(topic, `g-${randomUUID()}`, async (r) => {
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 3));
        seen.push(r);
      });
      const total = keys.length * perKey;
      await eventually(() => seen.length >= total, 60_000, `${total} records`);
      await sub.close();

      assert.equal(seen.length, total);
      for (const key of keys) {
        const ofKey = seen.filter((r) => r.key === key);
        assert.deepEqual(
          ofKey.map((r) => Number(text(r).split(':')[1])),
          Array.from({ length: perKey }, (_, i) => i),
          `${key} out of order`,
        );
        for (const r of ofKey) assert.equal(r.partition, partitionFor(key, partitions), `${key} partition`);
      }
    });

    it('goes on with other keys of a partition while one key waits, and hands a failed record over again', async () => {
      const topic = await newTopic(brokers, 1);
      for (const [key, value] of [
        ['a', 'a0'],
        ['b', 'b0'],
        ['b', 'b1'],
        ['b', 'b2'],
      ] as const) {
        await bus.publish(topic, key, Buffer.from(value));
      }
      const events: string[] = [];
      let attemptsOfA = 0;
      const sub = await bus.subscribe(topic, `g-${randomUUID()}`, async (r) => {
        if (r.key === 'a' && ++attemptsOfA === 1) {
          await eventually(() => events.filter((e) => e.startsWith('b')).length >= 3, 20_000, 'b while a waits');
          events.push('a0 failed');
          throw new Error('transient');
        }
        events.push(text(r));
      });
      await eventually(() => events.includes('a0'), 30_000, 'a0 handled on its second attempt');
      await sub.close();
      // b's records did not wait for a's; a's failure handed it over again (with b's behind it: at least once).
      assert.deepEqual(events.slice(0, 4), ['b0', 'b1', 'b2', 'a0 failed']);
      assert.equal(attemptsOfA, 2);
    });

    it('shares the partitions among the consumers of a group', async () => {
      // Each subscription runs several consumers (4), and the round-robin assignor hands partitions out in member-id
      // order: with fewer partitions than the 8 members, all could go to one subscription's consumers.
      const topic = await newTopic(brokers, 16);
      const group = `g-${randomUUID()}`;
      const a: string[] = [];
      const b: string[] = [];
      const subA = await bus.subscribe(topic, group, (r) => (a.push(text(r)), Promise.resolve()));
      const subB = await bus.subscribe(topic, group, (r) => (b.push(text(r)), Promise.resolve()));
      const sent = Array.from({ length: 40 }, (_, i) => String(i));
      await Promise.all(sent.map((v) => bus.publish(topic, `k${v}`, Buffer.from(v))));
      await eventually(() => new Set([...a, ...b]).size === sent.length, 30_000, 'every record in the group');
      await subA.close();
      await subB.close();
      assert.ok(a.length > 0 && b.length > 0, `one consumer got nothing: a=${a.length} b=${b.length}`);
      assert.deepEqual([...new Set([...a, ...b])].sort(), [...sent].sort());
    });

    it('dead-letters a poison record with its reason and goes on with the next one', async () => {
      const topic = await newTopic(brokers, 2);
      await newTopic(brokers, 1, deadLetterTopic(topic));
      const handled: number[] = [];
      const dead: BusRecord[] = [];
      const sub = await consume(bus, {
        topic,
        group: `g-${randomUUID()}`,
        log,
        decode: (value) => {
          const s = Buffer.from(value).toString();
          if (!s.startsWith('{')) throw new Error('not JSON');
          return JSON.parse(s) as { n: number };
        },
        handle: (value) => (handled.push(value.n), Promise.resolve()),
      });
      const deadSub = await bus.subscribe(
        deadLetterTopic(topic),
        `g-${randomUUID()}`,
        (r) => (dead.push(r), Promise.resolve()),
      );
      await bus.publish(topic, 'k', Buffer.from('{"n":1}'));
      await bus.publish(topic, 'k', Buffer.from('garbage'));
      await bus.publish(topic, 'k', Buffer.from('{"n":2}'));
      await eventually(() => handled.length >= 2 && dead.length >= 1, 30_000, 'two handled and one dead-lettered');
      await sub.close();
      await deadSub.close();

      assert.deepEqual(handled, [1, 2]);
      assert.equal(dead.length, 1);
      const letter = JSON.parse(text(dead[0]!)) as Record<string, unknown>;
      assert.deepEqual(letter, {
        reason: 'not JSON',
        topic,
        partition: partitionFor('k', 2),
        offset: 1,
        key: 'k',
        value: Buffer.from('garbage').toString('base64'),
      });
      assert.equal(dead[0]!.key, 'k');
    });
  });
}
