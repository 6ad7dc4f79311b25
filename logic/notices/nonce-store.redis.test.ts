// NonceStore contract against the real Redis of `npm run engines` (started if needed; never skipped).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { connectRedis, deleteByPrefix } from '../../test/redis.ts';
import { nonceStoreContract } from './nonce-store.contract.ts';
import { nonceKey, RedisNonceStore } from './nonce-store.redis.ts';

const prefix = `test:nonces:${randomUUID()}:`;

nonceStoreContract('redis', async () => {
  const redis = await connectRedis();
  return {
    store: new RedisNonceStore(redis, { prefix }),
    close: async () => {
      await deleteByPrefix(redis, prefix);
      await redis.quit();
    },
  };
});

describe('RedisNonceStore', () => {
  it('keeps each nonce under its own key, expiring with the TTL asked for', async () => {
    const redis = await connectRedis();
    try {
      const nonce = 'k'.repeat(16);
      await new RedisNonceStore(redis, { prefix }).seen('app-a', nonce, 60_000);
      const key = nonceKey(prefix, 'app-a', nonce);
      assert.equal(key, `${prefix}notice:nonce:app-a:${nonce}`);
      const ttl = await redis.pttl(key);
      assert.ok(ttl > 55_000 && ttl <= 60_000, `pttl ${ttl}`);
    } finally {
      await deleteByPrefix(redis, prefix);
      await redis.quit();
    }
  });
});
