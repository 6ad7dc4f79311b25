import { randomUUID } from 'node:crypto';
import { connectRedis, deleteByPrefix } from '../test/redis.ts';
import { unreadStoreContract } from './unread-store.contract.ts';
import { RedisUnreadStore } from './unread-store.redis.ts';

unreadStoreContract('redis', async () => {
  const redis = await connectRedis();
  const prefix = `test:unread:${randomUUID()}:`;
  return {
    store: new RedisUnreadStore(redis, { prefix, maxPerConversation: 5 }),
    close: async () => {
      await deleteByPrefix(redis, prefix);
      await redis.quit();
    },
  };
});
