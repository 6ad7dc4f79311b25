import { randomUUID } from 'node:crypto';
import type { Redis, Result } from 'ioredis';
import { TERM_SHIFT, type SeqTermStore } from './seq-term-store.ts';
import type { Sequencer } from './sequencer.ts';

/**
 * What `lowestInFlight` returns while reads are held back after Redis lost its state: no seq is below it, so a
 * reader bounded by it (`seq < bound`) reads nothing newer than it already has.
 */
export const HOLD_ALL_READS = 0;

/** A seq must stay a safe integer: term * 2^32 + counter < 2^53. */
const MAX_TERM = 2 ** 21 - 1;
/** Rebuilds one call may go through before giving up (each needs Redis to lose its data again meanwhile). */
const MAX_REBUILDS_PER_CALL = 5;

// Keys: term, incarnation and held are shared; counter and in-flight set are per user.
//   <p>seq:term          the term in use (no TTL; absent = Redis lost its data, or first start)
//   <p>seq:incarnation   random token naming this Redis dataset, set when the term is found absent
//   <p>seq:held          present (PX inFlightTtlMs) after a rebuild: hold every read
//   <p>seq:n:<user>      counter (INCR, no TTL)
//   <p>seq:f:<user>      in-flight set: score = seq, member = "<seq>:<deadlineMs>" (PX inFlightTtlMs)

const LUA_NOW = `
local function nowMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
`;

/**
 * KEYS term, incarnation, then (counter, in-flight) per user; ARGV inFlightTtlMs, token.
 * Returns {1, term, counter...}, or {0, incarnation token} if the term is absent (nothing allocated).
 */
const ALLOCATE = `${LUA_NOW}
local term = redis.call('GET', KEYS[1])
if not term then
  redis.call('SET', KEYS[2], ARGV[2], 'NX')
  return {0, redis.call('GET', KEYS[2])}
end
term = tonumber(term)
local ttl = tonumber(ARGV[1])
local deadline = string.format('%.0f', nowMs() + ttl)
local out = {1, term}
for i = 3, #KEYS, 2 do
  local counter = redis.call('INCR', KEYS[i])
  if counter >= 4294967296 then return redis.error_reply('ERR seq counter of ' .. KEYS[i] .. ' overflows its term') end
  local seq = string.format('%.0f', term * 4294967296 + counter)
  redis.call('ZADD', KEYS[i + 1], seq, seq .. ':' .. deadline)
  redis.call('PEXPIRE', KEYS[i + 1], ttl)
  out[#out + 1] = counter
end
return out
`;

/**
 * KEYS term, incarnation, held; ARGV token, term, holdMs. Installs the term only in the dataset the token was
 * read from (a Redis that restarted again meanwhile has no token) and only if no other process installed one.
 * Returns 1 if the term key is now set in that dataset, 0 if the token is stale.
 */
const INSTALL = `
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
if redis.call('SET', KEYS[1], ARGV[2], 'NX') and tonumber(ARGV[3]) > 0 then
  redis.call('SET', KEYS[3], ARGV[2], 'PX', ARGV[3])
end
return 1
`;

/**
 * KEYS term, incarnation, held, in-flight; ARGV token.
 * Returns {0, token} if the term is absent, {2} while held, {1, seq} for the lowest live in-flight seq, {3} if
 * none. Expired members are dropped on the way; the work is bounded, and if the bound is hit the lowest remaining
 * seq is returned (lower than every live one, so holding readers there is safe).
 */
const LOWEST_IN_FLIGHT = `${LUA_NOW}
if not redis.call('GET', KEYS[1]) then
  redis.call('SET', KEYS[2], ARGV[1], 'NX')
  return {0, redis.call('GET', KEYS[2])}
end
if redis.call('EXISTS', KEYS[3]) == 1 then return {2} end
local now = nowMs()
for round = 1, 8 do
  local items = redis.call('ZRANGE', KEYS[4], 0, 63, 'WITHSCORES')
  if #items == 0 then return {3} end
  local expired = {}
  for i = 1, #items, 2 do
    local deadline = tonumber(string.match(items[i], ':(%d+)$'))
    if deadline > now then
      if #expired > 0 then redis.call('ZREM', KEYS[4], unpack(expired)) end
      return {1, tonumber(items[i + 1])}
    end
    expired[#expired + 1] = items[i]
  end
  redis.call('ZREM', KEYS[4], unpack(expired))
end
local first = redis.call('ZRANGE', KEYS[4], 0, 0, 'WITHSCORES')
if #first == 0 then return {3} end
return {1, tonumber(first[2])}
`;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    imSeqAllocate(numberOfKeys: number, ...keysAndArgs: (string | number)[]): Result<(number | string)[], Context>;
    imSeqInstall(
      term: string,
      incarnation: string,
      held: string,
      token: string,
      newTerm: number,
      holdMs: number,
    ): Result<number, Context>;
    imSeqLowestInFlight(
      term: string,
      incarnation: string,
      held: string,
      inFlight: string,
      token: string,
    ): Result<(number | string)[], Context>;
  }
}

export interface RedisSequencerOptions {
  /** How long an allocated seq holds readers back unless completed; also how long reads are held after a rebuild. */
  inFlightTtlMs?: number;
  /** Prefix of every key (default `im:`). */
  prefix?: string;
}

/**
 * Seqs from Redis counters under a durable term: seq = term * 2^32 + counter. The fast path is one Lua call per
 * allocate batch. When Redis has lost its data (the term key is gone), the term store moves the term forward and
 * the first process to install it in Redis wins (SET NX); every seq handed out afterwards is above every seq from
 * before, and reads are held for `inFlightTtlMs`, because seqs allocated before the loss may still be written and
 * their in-flight entries are gone. See docs/decisions/0004-redis-routes-and-seq-terms.md.
 *
 * Needs a Redis that does not evict keys (maxmemory-policy noeviction or volatile-*): an evicted counter with the
 * term still present would reuse seqs.
 */
export class RedisSequencer implements Sequencer {
  private readonly prefix: string;
  private readonly inFlightTtlMs: number;
  private readonly termKey: string;
  private readonly incarnationKey: string;
  private readonly heldKey: string;
  private rebuilding: { token: string; done: Promise<void> } | undefined;
  /** The highest term this process has recorded as used in the term store. */
  private markedUsed = 0;
  /** How many times this process installed or joined a new term (for logs and tests). */
  rebuilds = 0;

  constructor(
    private readonly redis: Redis,
    private readonly terms: SeqTermStore,
    options: RedisSequencerOptions = {},
  ) {
    this.prefix = options.prefix ?? 'im:';
    this.inFlightTtlMs = options.inFlightTtlMs ?? 30_000;
    this.termKey = `${this.prefix}seq:term`;
    this.incarnationKey = `${this.prefix}seq:incarnation`;
    this.heldKey = `${this.prefix}seq:held`;
    redis.defineCommand('imSeqAllocate', { lua: ALLOCATE });
    redis.defineCommand('imSeqInstall', { numberOfKeys: 3, lua: INSTALL });
    redis.defineCommand('imSeqLowestInFlight', { numberOfKeys: 4, lua: LOWEST_IN_FLIGHT });
  }

  private counterKey(user: string): string {
    return `${this.prefix}seq:n:${user}`;
  }

  private inFlightKey(user: string): string {
    return `${this.prefix}seq:f:${user}`;
  }

  async allocate(users: readonly string[]): Promise<number[]> {
    if (users.length === 0) return [];
    const keys = [this.termKey, this.incarnationKey];
    for (const user of users) keys.push(this.counterKey(user), this.inFlightKey(user));
    for (let rebuilds = 0; ; rebuilds++) {
      const reply = await this.redis.imSeqAllocate(keys.length, ...keys, this.inFlightTtlMs, randomUUID());
      if (reply[0] === 1) {
        const term = Number(reply[1]);
        // Before the first seq of a term leaves this process, the term store learns the term is in use.
        if (term > this.markedUsed) {
          await this.terms.markUsed(term);
          this.markedUsed = Math.max(this.markedUsed, term);
        }
        return reply.slice(2).map((counter) => term * TERM_SHIFT + Number(counter));
      }
      if (rebuilds === MAX_REBUILDS_PER_CALL) break;
      await this.rebuild(String(reply[1]));
    }
    throw new Error(`sequencer: Redis lost its state during each of ${MAX_REBUILDS_PER_CALL} rebuilds`);
  }

  async complete(entries: readonly { user: string; seq: number }[]): Promise<void> {
    if (entries.length === 0) return;
    const pipeline = this.redis.pipeline();
    for (const { user, seq } of entries) pipeline.zremrangebyscore(this.inFlightKey(user), seq, seq);
    const results = await pipeline.exec();
    for (const [err] of results ?? []) if (err) throw err;
  }

  async lowestInFlight(user: string): Promise<number | undefined> {
    for (let rebuilds = 0; rebuilds <= MAX_REBUILDS_PER_CALL; rebuilds++) {
      const reply = await this.redis.imSeqLowestInFlight(
        this.termKey,
        this.incarnationKey,
        this.heldKey,
        this.inFlightKey(user),
        randomUUID(),
      );
      switch (reply[0]) {
        case 1:
          return Number(reply[1]);
        case 2:
          return HOLD_ALL_READS;
        case 3:
          return undefined;
      }
      // The term is absent: rebuild now rather than hold readers until the next send does.
      await this.rebuild(String(reply[1]));
    }
    return HOLD_ALL_READS;
  }

  async head(user: string): Promise<number | undefined> {
    // One MGET: the term and the counter as of the same moment.
    const [term, counter] = await this.redis.mget(this.termKey, this.counterKey(user));
    if (term === null || term === undefined) return undefined;
    return Number(term) * TERM_SHIFT + Number(counter ?? 0);
  }

  /** Seqs stay comparable across terms, so the sync_key epoch is the inbox data's generation. */
  epoch(): Promise<number> {
    return this.terms.generation();
  }

  /**
   * Moves the durable term past every term used so far and installs it in the Redis dataset named by `token`.
   * Concurrent calls of one process for the same dataset share one rebuild.
   */
  private rebuild(token: string): Promise<void> {
    if (this.rebuilding?.token === token) return this.rebuilding.done;
    const done = (async () => {
      // Another process may have installed a term in this dataset already: no need to burn one more.
      if ((await this.redis.exists(this.termKey)) === 1) return;
      // Not the term this process last used: another process may have installed a newer one since, and
      // advance(stale) would hand that one back, reusing its seqs. The durable current term is >= every term
      // ever installed.
      const previous = await this.terms.current();
      // Seqs may be in flight only if some term ever handed seqs out (the lost one cannot be named: terms burnt
      // by racing rebuilds were never installed). A fresh deployment starts without a pause.
      const hold = (await this.terms.lastUsed()) > 0;
      const term = await this.terms.advance(previous);
      if (!Number.isSafeInteger(term) || term < 1 || term > MAX_TERM) {
        throw new Error(`sequencer: term ${term} is outside 1..${MAX_TERM} (seqs would not be safe integers)`);
      }
      await this.redis.imSeqInstall(
        this.termKey,
        this.incarnationKey,
        this.heldKey,
        token,
        term,
        hold ? this.inFlightTtlMs : 0,
      );
      this.rebuilds++;
    })().finally(() => {
      if (this.rebuilding?.token === token) this.rebuilding = undefined;
    });
    this.rebuilding = { token, done };
    return done;
  }
}
