import type { Redis } from 'ioredis';
import type { NonceStore } from './nonce-store.ts';

export interface RedisNonceStoreOptions {
  /** Prefix of every key (default `im:`). */
  prefix?: string;
}

/**
 * `<prefix>notice:nonce:<appId>:<nonce>` → "1", expiring with PX: one key per nonce seen. Unambiguous because
 * neither an app id nor a nonce contains ':' (nonce-store.ts).
 */
export function nonceKey(prefix: string, appId: string, nonce: string): string {
  return `${prefix}notice:nonce:${appId}:${nonce}`;
}

/**
 * Nonces as Redis keys set with `SET key 1 PX ttl NX`: one round trip, atomic on the server, so logic nodes sharing
 * the Redis share what they have seen. Expiry is measured by Redis's clock. If Redis loses its data, nonces seen
 * before are forgotten: a request captured in the last window could then be replayed once.
 */
export class RedisNonceStore implements NonceStore {
  private readonly prefix: string;

  constructor(
    private readonly redis: Redis,
    options: RedisNonceStoreOptions = {},
  ) {
    this.prefix = options.prefix ?? 'im:';
  }

  async seen(appId: string, nonce: string, ttlMs: number): Promise<boolean> {
    const set = await this.redis.set(nonceKey(this.prefix, appId, nonce), '1', 'PX', Math.ceil(ttlMs), 'NX');
    return set === null;
  }
}
