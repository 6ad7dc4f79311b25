import type { Redis, Result } from 'ioredis';
import type { StreamHeads } from './stream-heads.ts';

/** KEYS heads; ARGV stream, seq. Raises the field to max(current, seq). */
const ADVANCE = `
local current = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if tonumber(ARGV[2]) > current then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
return 1
`;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    imHeadAdvance(heads: string, stream: string, seq: string): Result<number, Context>;
  }
}

/**
 * Heads in one Redis hash: a lookup of a user's N groups is one HMGET. If Redis loses the hash, heads read 0 until
 * the next write, so sync may skip a quiet group until it speaks again: clients still get every message then,
 * because cursors, not heads, decide what a read returns.
 */
export class RedisStreamHeads implements StreamHeads {
  private readonly key: string;

  constructor(
    private readonly redis: Redis,
    options: { prefix?: string } = {},
  ) {
    this.key = `${options.prefix ?? 'im:'}heads`;
    redis.defineCommand('imHeadAdvance', { numberOfKeys: 1, lua: ADVANCE });
  }

  async advance(entries: readonly { stream: string; seq: number }[]): Promise<void> {
    if (entries.length === 0) return;
    const pipeline = this.redis.pipeline();
    for (const { stream, seq } of entries) pipeline.imHeadAdvance(this.key, stream, String(seq));
    for (const [err] of (await pipeline.exec()) ?? []) if (err) throw err;
  }

  async heads(streams: readonly string[]): Promise<number[]> {
    if (streams.length === 0) return [];
    return (await this.redis.hmget(this.key, ...streams)).map((v) => Number(v ?? 0));
  }
}
