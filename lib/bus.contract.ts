import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Bus, BusRecord } from './bus.ts';

export interface BusFixture {
  bus: Bus;
  /** A fresh topic with this many partitions, unique to the test. */
  newTopic(partitions: number): Promise<string>;
}

const text = (r: BusRecord) => Buffer.from(r.value).toString();

/** Waits until `done()` holds, checking every 10 ms, failing after `ms`. */
export async function eventually(done: () => boolean, ms = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The behaviour every Bus adapter promises; run by each adapter's test file. */
export function busContract(adapter: string, setup: () => Promise<BusFixture>): void {
  describe(`Bus contract: ${adapter}`, () => {
    let fx: BusFixture;
    before(async () => {
      fx = await setup();
    });
    after(async () => {
      await fx.bus.close();
    });

    it('delivers records with the same key in publish order', async () => {
      const topic = await fx.newTopic(3);
      for (let i = 0; i < 50; i++) await fx.bus.publish(topic, `k${i % 5}`, Buffer.from(`k${i % 5}:${i}`));
      const seen: string[] = [];
      const sub = await fx.bus.subscribe(topic, `g-${randomUUID()}`, (r) => {
        seen.push(text(r));
        return Promise.resolve();
      });
      await eventually(() => seen.length === 50, 20_000, '50 records');
      await sub.close();
      for (let k = 0; k < 5; k++) {
        const ofKey = seen.filter((s) => s.startsWith(`k${k}:`)).map((s) => Number(s.split(':')[1]));
        assert.deepEqual(
          ofKey,
          [...ofKey].sort((a, b) => a - b),
          `key k${k} out of order`,
        );
        assert.equal(ofKey.length, 10);
      }
    });

    it('gives every group every record', async () => {
      const topic = await fx.newTopic(2);
      const a: string[] = [];
      const b: string[] = [];
      const subA = await fx.bus.subscribe(topic, `a-${randomUUID()}`, (r) => (a.push(text(r)), Promise.resolve()));
      const subB = await fx.bus.subscribe(topic, `b-${randomUUID()}`, (r) => (b.push(text(r)), Promise.resolve()));
      for (let i = 0; i < 10; i++) await fx.bus.publish(topic, `k${i}`, Buffer.from(String(i)));
      await eventually(() => a.length === 10 && b.length === 10, 20_000, 'both groups');
      await subA.close();
      await subB.close();
      assert.deepEqual([...a].sort(), [...b].sort());
    });

    it('hands a failed record over again before any later record of its key', async () => {
      const topic = await fx.newTopic(1);
      const seen: string[] = [];
      let failures = 0;
      const sub = await fx.bus.subscribe(topic, `g-${randomUUID()}`, (r) => {
        seen.push(text(r));
        if (text(r) === '1' && failures < 2) {
          failures++;
          return Promise.reject(new Error('transient'));
        }
        return Promise.resolve();
      });
      for (let i = 0; i < 3; i++) await fx.bus.publish(topic, 'same', Buffer.from(String(i)));
      await eventually(() => seen.includes('2'), 30_000, 'record 2');
      await sub.close();
      assert.deepEqual(seen, ['0', '1', '1', '1', '2']);
    });

    it('resumes a group after its committed offset', async () => {
      const topic = await fx.newTopic(1);
      const group = `g-${randomUUID()}`;
      const first: string[] = [];
      const sub1 = await fx.bus.subscribe(topic, group, (r) => (first.push(text(r)), Promise.resolve()));
      for (let i = 0; i < 3; i++) await fx.bus.publish(topic, 'k', Buffer.from(String(i)));
      await eventually(() => first.length === 3, 20_000, 'first three');
      await sub1.close();
      await fx.bus.publish(topic, 'k', Buffer.from('3'));
      const second: string[] = [];
      const sub2 = await fx.bus.subscribe(topic, group, (r) => (second.push(text(r)), Promise.resolve()));
      await eventually(() => second.includes('3'), 30_000, 'record 3');
      await sub2.close();
      assert.deepEqual(second, ['3']);
    });
  });
}
