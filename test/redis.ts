// One Redis harness for the *.redis.test.ts files: a client on the Redis of `npm run engines` (started if needed;
// never skipped) and the cleanup of a test's own key prefix.
import { Redis } from 'ioredis';
import { engines } from './engines.ts';

/** A client that fails fast: an unreachable Redis fails the suite at the ping, not in a retry loop. */
export async function connectRedis(): Promise<Redis> {
  const { redis: endpoint } = await engines('redis');
  const redis = new Redis({ ...endpoint, maxRetriesPerRequest: 1, connectTimeout: 2000 });
  redis.on('error', () => undefined); // failures surface through the awaited commands
  await redis.ping();
  return redis;
}

/** Deletes every key that starts with prefix (SCAN, so it never blocks the server the way KEYS does). */
export async function deleteByPrefix(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  for (let round = 0; round < 10_000; round++) {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    if (keys.length) await redis.unlink(...keys);
    cursor = next;
    if (cursor === '0') return;
  }
}
