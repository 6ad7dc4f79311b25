import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { SendOutcome } from '../proto/gen/im/v1/store.pb.ts';
import { message } from '../test/fixtures.ts';
import type { OutcomeStore } from './outcome-store.ts';

const outcome = (serverMsgId: string) =>
  SendOutcome.create({ message: { ...message(0), serverMsgId }, recipients: [{ user: 'a', seq: 7 }], done: false });

export function outcomeStoreContract(
  adapter: string,
  setup: () => Promise<{ store: OutcomeStore; close: () => Promise<void> }>,
): void {
  describe(`OutcomeStore contract: ${adapter}`, () => {
    let store: OutcomeStore;
    let close: () => Promise<void>;
    before(async () => ({ store, close } = await setup()));
    after(() => close());

    it('keeps the first outcome stored under a key', async () => {
      const key = randomUUID();
      assert.equal(await store.get(key), undefined);
      const first = await store.putIfAbsent(key, outcome('first'), 10_000);
      assert.equal(first.message?.serverMsgId, 'first');
      const second = await store.putIfAbsent(key, outcome('second'), 10_000);
      assert.equal(second.message?.serverMsgId, 'first');
      assert.deepEqual((await store.get(key))?.recipients, [{ user: 'a', seq: 7 }]);
    });

    it('answers each of many concurrent gets with its own key, stored or not, a key asked twice included', async () => {
      const stored = Array.from({ length: 5 }, () => randomUUID());
      for (const [i, key] of stored.entries()) await store.putIfAbsent(key, outcome(`m${i}`), 10_000);
      const keys = [...stored, randomUUID(), stored[2]!, randomUUID()];
      const found = await Promise.all(keys.map((key) => store.get(key)));
      assert.deepEqual(
        found.map((o) => o?.message?.serverMsgId),
        ['m0', 'm1', 'm2', 'm3', 'm4', undefined, 'm2', undefined],
      );
    });

    it('marks an outcome done', async () => {
      const key = randomUUID();
      await store.putIfAbsent(key, outcome('x'), 10_000);
      await store.markDone(key, 10_000);
      assert.equal((await store.get(key))?.done, true);
    });

    it('replaces a stored outcome, and stores nothing under a key that has none', async () => {
      const key = randomUUID();
      await store.putIfAbsent(key, outcome('original'), 10_000);
      const edits = [{ fromDevice: 'phone', clientMsgId: 'e1', serverMsgId: '' }];
      const changed = {
        ...outcome('original'),
        message: { ...message(0), serverMsgId: 'original', body: Buffer.alloc(0), recalled: true },
        edits,
      };
      assert.equal(await store.replace(key, changed), true);
      assert.deepEqual(await store.get(key), changed);
      const unknown = randomUUID();
      assert.equal(await store.replace(unknown, changed), false);
      assert.equal(await store.get(unknown), undefined);
    });

    it('keeps the done mark through a replace, and sets it when the replacement says done', async () => {
      const [done, open] = [randomUUID(), randomUUID()];
      await store.putIfAbsent(done, outcome('x'), 10_000);
      await store.markDone(done, 10_000);
      await store.replace(done, { ...outcome('y'), done: false });
      assert.deepEqual([(await store.get(done))?.message?.serverMsgId, (await store.get(done))?.done], ['y', true]);
      await store.putIfAbsent(open, outcome('x'), 10_000);
      await store.replace(open, { ...outcome('x'), done: true });
      assert.equal((await store.get(open))?.done, true);
      await store.replace(open, { ...outcome('x'), done: false });
      assert.equal((await store.get(open))?.done, true);
    });

    it('keeps the expiry an outcome had when it is replaced (a replace does not extend it)', async () => {
      const key = randomUUID();
      await store.putIfAbsent(key, outcome('x'), 3_000);
      await new Promise((r) => setTimeout(r, 1_000));
      assert.equal(await store.replace(key, outcome('y')), true);
      await new Promise((r) => setTimeout(r, 2_300));
      assert.equal(await store.get(key), undefined);
    });

    it('forgets outcomes after their TTL', async () => {
      const key = randomUUID();
      await store.putIfAbsent(key, outcome('x'), 1_000);
      await new Promise((r) => setTimeout(r, 1_300));
      assert.equal(await store.get(key), undefined);
    });
  });
}
