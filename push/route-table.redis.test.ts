// RouteTable contract against the real Redis of `npm run engines` (started if needed; never skipped).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Redis } from 'ioredis';
import { connectRedis, deleteByPrefix } from '../test/redis.ts';
import { routeTableContract } from './route-table.contract.ts';
import { RedisRouteTable } from './route-table.redis.ts';

const prefix = `test:routes:${randomUUID()}:`;

routeTableContract('redis', async () => {
  const redis = await connectRedis();
  return {
    table: new RedisRouteTable(redis, { prefix }),
    close: async () => {
      await deleteByPrefix(redis, prefix);
      await redis.quit();
    },
  };
});

describe('RedisRouteTable specifics', () => {
  let redis: Redis;
  let table: RedisRouteTable;
  before(async () => {
    redis = await connectRedis();
    table = new RedisRouteTable(redis, { prefix });
  });
  after(async () => {
    await deleteByPrefix(redis, prefix);
    await redis.quit();
  });
  const route = (user = `u-${randomUUID()}`) => ({
    user,
    device: 'phone',
    node: 'gw|"1"/é',
    connId: randomUUID(),
    atMs: Date.now(),
  });

  it('looks up many users in one round trip', async () => {
    const routes = Array.from({ length: 200 }, () => route());
    await Promise.all(routes.map((r) => table.put(r, 10_000)));
    const sent: string[] = [];
    // Every command the client sends: the lookup must be TIME plus one HGETALL per user, pipelined.
    const original = redis.sendCommand.bind(redis);
    redis.sendCommand = (...args: Parameters<Redis['sendCommand']>) => {
      sent.push(args[0].name);
      return original(...args);
    };
    let found: Map<string, unknown[]>;
    try {
      found = await table.lookup(routes.map((r) => r.user));
    } finally {
      redis.sendCommand = original;
    }
    assert.equal(found.size, 200);
    assert.deepEqual(sent, ['time', ...routes.map(() => 'hgetall')]);
    assert.deepEqual((found.get(routes[7]!.user) as unknown[])[0], routes[7]);
  });

  it('refreshes only the connection it names, and lets an old route in once the newer one expired', async () => {
    const fresh = route();
    await table.put(fresh, 300);
    await table.refresh([{ ...fresh, connId: 'someone-else' }], 10_000);
    await new Promise((r) => setTimeout(r, 450));
    assert.equal((await table.lookup([fresh.user])).size, 0, 'refresh of another connection extended the route');
    const older = { ...route(fresh.user), atMs: fresh.atMs - 1000 };
    await table.put(older, 10_000);
    assert.equal((await table.lookup([fresh.user])).get(fresh.user)?.[0]?.connId, older.connId);
  });

  it('drops expired devices lazily and gives every hash a key TTL', async () => {
    const short = route();
    const long = { ...route(short.user), device: 'laptop' };
    await table.put(short, 200);
    await table.put(long, 5_000);
    const key = `${prefix}route:${short.user}`;
    const pttl = await redis.pttl(key);
    assert.ok(pttl > 4_000 && pttl <= 5_000, `key TTL ${pttl}`);
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(
      (await table.lookup([short.user])).get(short.user)?.map((r) => r.device),
      ['laptop'],
    );
    for (let i = 0; i < 50 && (await redis.hexists(key, 'phone')); i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(await redis.hexists(key, 'phone'), 0, 'expired field was not cleaned up');
  });
});
