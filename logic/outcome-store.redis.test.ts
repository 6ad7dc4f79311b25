// OutcomeStore contract against the real Redis of `npm run engines` (started if needed; never skipped).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Redis } from 'ioredis';
import { connectRedis, deleteByPrefix } from '../test/redis.ts';
import { SendOutcome } from '../proto/gen/im/v1/store.pb.ts';
import { outcomeStoreContract } from './outcome-store.contract.ts';
import { RedisOutcomeStore } from './outcome-store.redis.ts';

const prefix = `test:outcomes:${randomUUID()}:`;

outcomeStoreContract('redis', async () => {
  const redis = await connectRedis();
  return {
    store: new RedisOutcomeStore(redis, { prefix }),
    close: async () => {
      await deleteByPrefix(redis, prefix);
      await redis.quit();
    },
  };
});

describe('RedisOutcomeStore specifics', () => {
  let redis: Redis;
  let store: RedisOutcomeStore;
  before(async () => {
    redis = await connectRedis();
    store = new RedisOutcomeStore(redis, { prefix });
  });
  after(async () => {
    await deleteByPrefix(redis, prefix);
    await redis.quit();
  });

  it('stores protobuf, keeps every field through markDone (twice), and refreshes the TTL', async () => {
    const key = `${randomUUID()}\nphone\nc1`;
    const outcome = SendOutcome.create({
      message: { serverMsgId: 's1', conversation: 'dm:a:b', body: Buffer.from([0, 255, 10]) },
      recipients: [
        { user: 'a', seq: 2 ** 32 + 5 },
        { user: 'b', seq: 2 ** 40 + 1 },
      ],
    });
    await store.putIfAbsent(key, outcome, 1_000);
    const raw = await redis.getBuffer(`${prefix}outcome:${key}`);
    assert.deepEqual(SendOutcome.decode(raw!), outcome);
    await store.markDone(key, 20_000);
    await store.markDone(key, 20_000);
    const done = await store.get(key);
    assert.deepEqual(done, { ...outcome, done: true });
    assert.ok((await redis.pttl(`${prefix}outcome:${key}`)) > 10_000);
    assert.equal((await redis.getBuffer(`${prefix}outcome:${key}`))!.length, raw!.length + 2, 'suffix added once');
  });

  it('markDone of an unknown key stores nothing', async () => {
    const key = randomUUID();
    await store.markDone(key, 10_000);
    assert.equal(await redis.exists(`${prefix}outcome:${key}`), 0);
  });

  it('lets exactly one of many concurrent writers win', async () => {
    const key = randomUUID();
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        store.putIfAbsent(key, SendOutcome.create({ message: { serverMsgId: `s${i}` } }), 10_000),
      ),
    );
    assert.equal(new Set(results.map((r) => r.message?.serverMsgId)).size, 1);
  });
});
