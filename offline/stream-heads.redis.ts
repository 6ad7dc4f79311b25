import type { Redis, Result } from 'ioredis';
import type { StreamHead, StreamHeads } from './stream-heads.ts';

/** KEYS heads; ARGV stream, seq, index. Moves the field to "seq:index" if seq is past the current one. */
const ADVANCE = `
local current = tonumber(string.match(redis.call('HGET', KEYS[1], ARGV[1]) or '0', '^%d+') or '0')
if tonumber(ARGV[2]) > current then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. ':' .. ARGV[3]) end
return 1
`;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    imHeadAdvance(heads: string, stream: string, seq: string, index: string): Result<number, Context>;
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

  async advance(entries: readonly StreamHead[]): Promise<void> {
    if (entries.length === 0) return;
    const pipeline = this.redis.pipeline();
    for (const { stream, seq, index } of entries) pipeline.imHeadAdvance(this.key, stream, String(seq), String(index));
    for (const [err] of (await pipeline.exec()) ?? []) if (err) throw err;
  }

  async heads(streams: readonly string[]): Promise<{ seq: number; index: number }[]> {
    if (streams.length === 0) return [];
    return (await this.redis.hmget(this.key, ...streams)).map((v) => {
      // "seq:index" ("seq" alone was written before heads carried an index).
      const [seq, index] = (v ?? '0').split(':');
      return { seq: Number(seq), index: Number(index ?? 0) };
    });
  }
}
