import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { engines } from '../test/engines.ts';
import { streamHeadsContract } from './stream-heads.contract.ts';
import { RedisStreamHeads } from './stream-heads.redis.ts';

streamHeadsContract('redis', async () => {
  const { redis: endpoint } = await engines('redis');
  const redis = new Redis({ ...endpoint, maxRetriesPerRequest: 2 });
  const prefix = `test:heads:${randomUUID()}:`;
  return {
    heads: new RedisStreamHeads(redis, { prefix }),
    close: async () => {
      await redis.del(`${prefix}heads`);
      await redis.quit();
    },
  };
});
