import type { Redis, Result } from 'ioredis';
import type { Route, RouteRef, RouteTable } from './route-table.ts';

/**
 * Routes in Redis: one hash per user (`<prefix>route:<user>`), field = device, value = the JSON array
 * `[expiresAtMs, atMs, node, connId]`. Expiry is per device inside the value (Redis 7.0 has no per-field TTL), so
 * `lookup` of N users is one pipelined round trip of HGETALLs; expired fields are skipped and deleted lazily. All
 * times are Redis `TIME`, one clock for every process. Each hash also carries a key TTL at least as long as its
 * longest-lived field, so a user who never comes back leaves nothing behind.
 *
 * Every write is a Lua compare-and-set, so concurrent put/refresh/remove of the same device never interleave.
 */

// Shared Lua: the current Redis time in ms, decoding a stored value, writing one with a given expiry.
const LUA_COMMON = `
local function nowMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function encode(expiresAt, atMs, node, connId)
  return '[' .. string.format('%.0f', expiresAt) .. ',' .. string.format('%.0f', atMs) .. ',' ..
    cjson.encode(node) .. ',' .. cjson.encode(connId) .. ']'
end
local function store(key, device, value, ttl)
  redis.call('HSET', key, device, value)
  if redis.call('PTTL', key) < ttl then redis.call('PEXPIRE', key, ttl) end
end
`;

/** KEYS[1] hash; ARGV device, atMs, node, connId, ttlMs. Returns 1 if stored, 0 if a newer live route stays. */
const PUT = `${LUA_COMMON}
local now = nowMs()
local ttl = tonumber(ARGV[5])
local atMs = tonumber(ARGV[2])
local current = redis.call('HGET', KEYS[1], ARGV[1])
if current then
  local r = cjson.decode(current)
  if r[1] > now and r[2] > atMs then return 0 end
end
store(KEYS[1], ARGV[1], encode(now + ttl, atMs, ARGV[3], ARGV[4]), ttl)
return 1
`;

/** KEYS[1] hash; ARGV device, connId, ttlMs. Extends the route only if it is live and names connId. */
const REFRESH = `${LUA_COMMON}
local now = nowMs()
local ttl = tonumber(ARGV[3])
local current = redis.call('HGET', KEYS[1], ARGV[1])
if not current then return 0 end
local r = cjson.decode(current)
if r[1] <= now then
  redis.call('HDEL', KEYS[1], ARGV[1])
  return 0
end
if r[4] ~= ARGV[2] then return 0 end
store(KEYS[1], ARGV[1], encode(now + ttl, r[2], r[3], r[4]), ttl)
return 1
`;

/** KEYS[1] hash; ARGV device, connId. Deletes the route only if it names connId. */
const REMOVE = `
local current = redis.call('HGET', KEYS[1], ARGV[1])
if not current then return 0 end
if cjson.decode(current)[4] ~= ARGV[2] then return 0 end
return redis.call('HDEL', KEYS[1], ARGV[1])
`;

/** KEYS[1] hash; ARGV device, value. Lazy cleanup: deletes the field only if it still holds the expired value. */
const DROP_IF_SAME = `
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then return redis.call('HDEL', KEYS[1], ARGV[1]) end
return 0
`;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    imRoutePut(
      key: string,
      device: string,
      atMs: number,
      node: string,
      connId: string,
      ttlMs: number,
    ): Result<number, Context>;
    imRouteRefresh(key: string, device: string, connId: string, ttlMs: number): Result<number, Context>;
    imRouteRemove(key: string, device: string, connId: string): Result<number, Context>;
    imRouteDropIfSame(key: string, device: string, value: string): Result<number, Context>;
  }
}

export interface RedisRouteTableOptions {
  /** Prefix of every key (default `im:`). */
  prefix?: string;
}

type Stored = [expiresAtMs: number, atMs: number, node: string, connId: string];

function decode(value: string): Stored | undefined {
  try {
    const parsed: unknown = JSON.parse(value);
    if (
      Array.isArray(parsed) &&
      parsed.length === 4 &&
      typeof parsed[0] === 'number' &&
      typeof parsed[1] === 'number' &&
      typeof parsed[2] === 'string' &&
      typeof parsed[3] === 'string'
    ) {
      return parsed as Stored;
    }
  } catch {
    // fall through: a value we cannot read is treated as absent
  }
  return undefined;
}

export class RedisRouteTable implements RouteTable {
  private readonly prefix: string;

  constructor(
    private readonly redis: Redis,
    options: RedisRouteTableOptions = {},
  ) {
    this.prefix = options.prefix ?? 'im:';
    redis.defineCommand('imRoutePut', { numberOfKeys: 1, lua: PUT });
    redis.defineCommand('imRouteRefresh', { numberOfKeys: 1, lua: REFRESH });
    redis.defineCommand('imRouteRemove', { numberOfKeys: 1, lua: REMOVE });
    redis.defineCommand('imRouteDropIfSame', { numberOfKeys: 1, lua: DROP_IF_SAME });
  }

  private key(user: string): string {
    return `${this.prefix}route:${user}`;
  }

  async put(route: Route, ttlMs: number): Promise<void> {
    await this.redis.imRoutePut(this.key(route.user), route.device, route.atMs, route.node, route.connId, ttlMs);
  }

  async remove(ref: RouteRef): Promise<void> {
    await this.redis.imRouteRemove(this.key(ref.user), ref.device, ref.connId);
  }

  async refresh(refs: readonly RouteRef[], ttlMs: number): Promise<void> {
    if (refs.length === 0) return;
    const pipeline = this.redis.pipeline();
    for (const ref of refs) pipeline.imRouteRefresh(this.key(ref.user), ref.device, ref.connId, ttlMs);
    throwFirstError(await pipeline.exec());
  }

  async lookup(users: readonly string[]): Promise<Map<string, Route[]>> {
    const found = new Map<string, Route[]>();
    if (users.length === 0) return found;
    const pipeline = this.redis.pipeline().time();
    for (const user of users) pipeline.hgetall(this.key(user));
    const replies = throwFirstError(await pipeline.exec());
    const [seconds, micros] = replies[0] as [string, string];
    const now = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
    const expired: [key: string, device: string, value: string][] = [];
    users.forEach((user, i) => {
      const hash = replies[i + 1] as Record<string, string>;
      const live: Route[] = [];
      for (const [device, value] of Object.entries(hash)) {
        const stored = decode(value);
        if (stored && stored[0] > now) {
          live.push({ user, device, atMs: stored[1], node: stored[2], connId: stored[3] });
        } else {
          expired.push([this.key(user), device, value]);
        }
      }
      if (live.length) found.set(user, live);
    });
    if (expired.length) this.dropExpired(expired);
    return found;
  }

  /** Best effort, not awaited: a field left behind is skipped by the next lookup and dropped with its hash. */
  private dropExpired(entries: readonly [key: string, device: string, value: string][]): void {
    const pipeline = this.redis.pipeline();
    for (const [key, device, value] of entries) pipeline.imRouteDropIfSame(key, device, value);
    pipeline.exec().catch(() => undefined);
  }
}

/** A pipeline's replies, or its first command error thrown. */
function throwFirstError(results: [Error | null, unknown][] | null): unknown[] {
  if (!results) throw new Error('redis pipeline was discarded');
  for (const [err] of results) if (err) throw err;
  return results.map(([, reply]) => reply);
}
