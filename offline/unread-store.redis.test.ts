import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { engines } from '../test/engines.ts';
import { unreadStoreContract } from './unread-store.contract.ts';
import { RedisUnreadStore } from './unread-store.redis.ts';

unreadStoreContract('redis', async () => {
  const { redis: endpoint } = await engines('redis');
  const redis = new Redis({ ...endpoint, maxRetriesPerRequest: 2 });
  const prefix = `test:unread:${randomUUID()}:`;
  return {
    store: new RedisUnreadStore(redis, { prefix, maxPerConversation: 5 }),
    close: async () => {
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length > 0) await redis.del(...keys);
      await redis.quit();
    },
  };
});
