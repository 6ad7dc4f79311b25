import type { Redis, Result } from 'ioredis';
import {
  MAX_UNREAD_PER_CONVERSATION,
  type ConversationUnreadState,
  type TimelineReadRef,
  type UnreadRef,
  type UnreadStore,
} from './unread-store.ts';

// Keys per user: <p>ur:<user> hash conversation -> read marker; <p>uc:<user> set of conversations;
// <p>uz:<user>:<conversation> sorted set of unread seqs (score = seq), capped to the newest entries;
// <p>ut:<user> hash conversation -> timeline read marker (large groups, by stream_index).

/** KEYS markers, conversations, unread; ARGV conversation, seq, cap. */
const ARRIVED = `
local marker = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if tonumber(ARGV[2]) <= marker then return 0 end
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[2])
redis.call('ZREMRANGEBYRANK', KEYS[3], 0, -(tonumber(ARGV[3]) + 1))
redis.call('SADD', KEYS[2], ARGV[1])
return 1
`;

/** KEYS markers, conversations, unread; ARGV conversation, seq. Returns the unread count left. */
const MARK_READ = `
local marker = math.max(tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0'), tonumber(ARGV[2]))
redis.call('HSET', KEYS[1], ARGV[1], string.format('%.0f', marker))
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', marker)
return redis.call('ZCARD', KEYS[3])
`;

/** KEYS marks; ARGV conversation, index. Returns the marker after the change. */
const MARK_TIMELINE = `
local marker = math.max(tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0'), tonumber(ARGV[2]))
redis.call('HSET', KEYS[1], ARGV[1], string.format('%.0f', marker))
return marker
`;

/**
 * KEYS markers, conversations; ARGV the unread sets' key prefix (<p>uz:<user>:), max seq. Returns conversation,
 * read marker, unread count, for each conversation in turn: one round trip where SMEMBERS and then HMGET and a
 * ZCOUNT per conversation were two (every GetDiff asks). The unread sets' keys are built here from the prefix,
 * which only a single Redis allows (a cluster would need every key declared; the sequencer's scripts span users
 * anyway).
 */
const UNREAD = `
local out = {}
for _, c in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  out[#out + 1] = c
  out[#out + 1] = redis.call('HGET', KEYS[1], c) or '0'
  out[#out + 1] = redis.call('ZCOUNT', ARGV[1] .. c, '-inf', ARGV[2])
end
return out
`;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    imUnreadArrived(
      markers: string,
      conversations: string,
      unread: string,
      conversation: string,
      seq: number,
      cap: number,
    ): Result<number, Context>;
    imUnreadMarkRead(
      markers: string,
      conversations: string,
      unread: string,
      conversation: string,
      seq: number,
    ): Result<number, Context>;
    imUnreadMarkTimeline(marks: string, conversation: string, index: number): Result<number, Context>;
    imUnread(markers: string, conversations: string, unreadPrefix: string, max: string): Result<unknown[], Context>;
  }
}

export class RedisUnreadStore implements UnreadStore {
  private readonly prefix: string;
  private readonly cap: number;

  constructor(
    private readonly redis: Redis,
    options: { prefix?: string; maxPerConversation?: number } = {},
  ) {
    this.prefix = options.prefix ?? 'im:';
    this.cap = options.maxPerConversation ?? MAX_UNREAD_PER_CONVERSATION;
    redis.defineCommand('imUnreadArrived', { numberOfKeys: 3, lua: ARRIVED });
    redis.defineCommand('imUnreadMarkRead', { numberOfKeys: 3, lua: MARK_READ });
    redis.defineCommand('imUnreadMarkTimeline', { numberOfKeys: 1, lua: MARK_TIMELINE });
    redis.defineCommand('imUnread', { numberOfKeys: 2, lua: UNREAD });
  }

  private keys(user: string, conversation: string): [string, string, string] {
    return [`${this.prefix}ur:${user}`, `${this.prefix}uc:${user}`, `${this.prefix}uz:${user}:${conversation}`];
  }

  // Commands rather than a pipeline of their own: with auto-pipelining, whatever else the caller issues in the same
  // turn (Offline.updateUnread's read markers) leaves in the same write.
  async arrived(entries: readonly UnreadRef[]): Promise<void> {
    await Promise.all(
      entries.map((e) =>
        this.redis.imUnreadArrived(...this.keys(e.user, e.conversation), e.conversation, e.seq, this.cap),
      ),
    );
  }

  async recalled(entries: readonly UnreadRef[]): Promise<void> {
    await Promise.all(entries.map((e) => this.redis.zrem(this.keys(e.user, e.conversation)[2], String(e.seq))));
  }

  markRead({ user, conversation, seq }: UnreadRef): Promise<number> {
    return this.redis.imUnreadMarkRead(...this.keys(user, conversation), conversation, seq);
  }

  async unread(user: string, throughSeq?: number): Promise<ConversationUnreadState[]> {
    const [markers, conversations] = this.keys(user, '');
    const max = throughSeq === undefined ? '+inf' : String(throughSeq);
    const flat = await this.redis.imUnread(markers, conversations, `${this.prefix}uz:${user}:`, max);
    const states: ConversationUnreadState[] = [];
    for (let i = 0; i + 2 < flat.length; i += 3) {
      states.push({ conversation: String(flat[i]), readSeq: Number(flat[i + 1]), unread: Number(flat[i + 2]) });
    }
    return states;
  }

  markTimelineRead({ user, conversation, index }: TimelineReadRef): Promise<number> {
    return this.redis.imUnreadMarkTimeline(`${this.prefix}ut:${user}`, conversation, index);
  }

  async timelineMarks(user: string, conversations: readonly string[]): Promise<number[]> {
    if (conversations.length === 0) return [];
    return (await this.redis.hmget(`${this.prefix}ut:${user}`, ...conversations)).map((v) => Number(v ?? 0));
  }
}
