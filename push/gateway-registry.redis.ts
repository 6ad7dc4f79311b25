import type { Redis, Result } from 'ioredis';
import type { GatewayEntry, GatewayRegistry } from './gateway-registry.ts';

/**
 * The registry as one Redis hash (`<prefix>gateways`): field = node, value = `<expiresAtMs> <entry JSON>`, the
 * expiry in Redis `TIME` (one clock for every process). A handful of gateways means `list` is one HGETALL; expired
 * entries are skipped and deleted lazily, only if unchanged since they were read.
 */

/** KEYS[1] hash; ARGV node, entry JSON, ttlMs. */
const REGISTER = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('HSET', KEYS[1], ARGV[1], string.format('%.0f', now + tonumber(ARGV[3])) .. ' ' .. ARGV[2])
return 1
`;

/** KEYS[1] hash; ARGV node, value. */
const DROP_IF_SAME = `
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then return redis.call('HDEL', KEYS[1], ARGV[1]) end
return 0
`;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    imGatewayRegister(key: string, node: string, entry: string, ttlMs: number): Result<number, Context>;
    imGatewayDropIfSame(key: string, node: string, value: string): Result<number, Context>;
  }
}

export interface RedisGatewayRegistryOptions {
  /** Prefix of every key (default `im:`). */
  prefix?: string;
}

function decode(value: string): { expiresAt: number; entry: GatewayEntry } | undefined {
  const space = value.indexOf(' ');
  try {
    const parsed = JSON.parse(value.slice(space + 1)) as Partial<GatewayEntry>;
    const expiresAt = Number(value.slice(0, space));
    const { node, grpcAddress, wsUrl } = parsed;
    if (space > 0 && Number.isFinite(expiresAt) && typeof node === 'string' && typeof grpcAddress === 'string') {
      return { expiresAt, entry: { node, grpcAddress, wsUrl: typeof wsUrl === 'string' ? wsUrl : '' } };
    }
  } catch {
    // fall through: a value we cannot read is treated as absent
  }
  return undefined;
}

export class RedisGatewayRegistry implements GatewayRegistry {
  private readonly key: string;

  constructor(
    private readonly redis: Redis,
    options: RedisGatewayRegistryOptions = {},
  ) {
    this.key = `${options.prefix ?? 'im:'}gateways`;
    redis.defineCommand('imGatewayRegister', { numberOfKeys: 1, lua: REGISTER });
    redis.defineCommand('imGatewayDropIfSame', { numberOfKeys: 1, lua: DROP_IF_SAME });
  }

  async register(entry: GatewayEntry, ttlMs: number): Promise<void> {
    const { node, grpcAddress, wsUrl } = entry;
    await this.redis.imGatewayRegister(this.key, node, JSON.stringify({ node, grpcAddress, wsUrl }), ttlMs);
  }

  async unregister(node: string): Promise<void> {
    await this.redis.hdel(this.key, node);
  }

  async list(): Promise<GatewayEntry[]> {
    const [now, all] = await this.read((p) => p.hgetall(this.key));
    const live: GatewayEntry[] = [];
    for (const [node, value] of Object.entries(all as Record<string, string>)) {
      const stored = decode(value);
      if (stored && stored.expiresAt > now) live.push(stored.entry);
      else this.drop(node, value);
    }
    return live.sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
  }

  async get(node: string): Promise<GatewayEntry | undefined> {
    const [now, value] = await this.read((p) => p.hget(this.key, node));
    if (typeof value !== 'string') return undefined;
    const stored = decode(value);
    if (stored && stored.expiresAt > now) return stored.entry;
    this.drop(node, value);
    return undefined;
  }

  /** Redis time (ms) and one more reply, in one round trip. */
  private async read(
    add: (pipeline: ReturnType<Redis['pipeline']>) => ReturnType<Redis['pipeline']>,
  ): Promise<[number, unknown]> {
    const results = await add(this.redis.pipeline().time()).exec();
    if (!results) throw new Error('redis pipeline was discarded');
    for (const [err] of results) if (err) throw err;
    const [seconds, micros] = results[0]![1] as [string, string];
    return [Number(seconds) * 1000 + Math.floor(Number(micros) / 1000), results[1]![1]];
  }

  /** Best effort, not awaited: an entry left behind is skipped by every read. */
  private drop(node: string, value: string): void {
    this.redis.imGatewayDropIfSame(this.key, node, value).catch(() => undefined);
  }
}
