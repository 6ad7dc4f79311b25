import { randomUUID } from 'node:crypto';
import { connectRedis } from '../test/redis.ts';
import { streamHeadsContract } from './stream-heads.contract.ts';
import { RedisStreamHeads } from './stream-heads.redis.ts';

streamHeadsContract('redis', async () => {
  const redis = await connectRedis();
  const prefix = `test:heads:${randomUUID()}:`;
  return {
    heads: new RedisStreamHeads(redis, { prefix }),
    close: async () => {
      await redis.del(`${prefix}heads`);
      await redis.quit();
    },
  };
});
