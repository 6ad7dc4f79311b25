import type { Redis, Result } from 'ioredis';
import { SendOutcome } from '../proto/gen/im/v1/store.pb.ts';
import type { OutcomeStore } from './outcome-store.ts';

/** KEYS[1]; ARGV encoded outcome, ttlMs. Stores unless present, returns what is stored (first writer wins). */
const PUT_IF_ABSENT = `
redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2])
return redis.call('GET', KEYS[1])
`;

/**
 * KEYS[1]; ARGV doneSuffix, ttlMs. Appends the encoding of `done = true` to the stored protobuf: a later
 * occurrence of a scalar field wins when decoding, so this marks the outcome done without a decode in Lua and
 * without a read-modify-write race. Idempotent: the suffix is appended once.
 */
const MARK_DONE = `
local value = redis.call('GET', KEYS[1])
if not value then return 0 end
local suffix = ARGV[1]
if string.sub(value, -#suffix) ~= suffix then value = value .. suffix end
redis.call('SET', KEYS[1], value, 'PX', ARGV[2])
return 1
`;

/**
 * KEYS[1]; ARGV encoded outcome (done unset), doneSuffix, '1' to set done. Overwrites a stored outcome, keeping
 * its TTL and its done mark (the suffix MARK_DONE appended, or a done encoded as the last field). Returns 1 if
 * replaced, 0 if nothing is stored.
 */
const REPLACE = `
local old = redis.call('GET', KEYS[1])
if not old then return 0 end
local value = ARGV[1]
local suffix = ARGV[2]
if ARGV[3] == '1' or string.sub(old, -#suffix) == suffix then value = value .. suffix end
redis.call('SET', KEYS[1], value, 'KEEPTTL')
return 1
`;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    imOutcomePutIfAbsentBuffer(key: string, value: Buffer, ttlMs: number): Result<Buffer, Context>;
    imOutcomeMarkDone(key: string, doneSuffix: Buffer, ttlMs: number): Result<number, Context>;
    imOutcomeReplace(key: string, value: Buffer, doneSuffix: Buffer, setDone: string): Result<number, Context>;
  }
}

export interface RedisOutcomeStoreOptions {
  /** Prefix of every key (default `im:`). */
  prefix?: string;
}

const DONE_SUFFIX = Buffer.from(SendOutcome.encode({ recipients: [], done: true, edits: [] }).finish());

/** Send outcomes as protobuf-encoded `SendOutcome` values under `<prefix>outcome:<key>`, expiring with PX. */
export class RedisOutcomeStore implements OutcomeStore {
  private readonly prefix: string;

  constructor(
    private readonly redis: Redis,
    options: RedisOutcomeStoreOptions = {},
  ) {
    this.prefix = options.prefix ?? 'im:';
    // defineCommand adds the `…Buffer` variant, which returns the reply as bytes.
    redis.defineCommand('imOutcomePutIfAbsent', { numberOfKeys: 1, lua: PUT_IF_ABSENT });
    redis.defineCommand('imOutcomeMarkDone', { numberOfKeys: 1, lua: MARK_DONE });
    redis.defineCommand('imOutcomeReplace', { numberOfKeys: 1, lua: REPLACE });
  }

  private key(key: string): string {
    return `${this.prefix}outcome:${key}`;
  }

  async get(key: string): Promise<SendOutcome | undefined> {
    const value = await this.redis.getBuffer(this.key(key));
    return value ? SendOutcome.decode(value) : undefined;
  }

  async putIfAbsent(key: string, outcome: SendOutcome, ttlMs: number): Promise<SendOutcome> {
    const encoded = Buffer.from(SendOutcome.encode(outcome).finish());
    const stored = await this.redis.imOutcomePutIfAbsentBuffer(this.key(key), encoded, ttlMs);
    return SendOutcome.decode(stored);
  }

  async markDone(key: string, ttlMs: number): Promise<void> {
    await this.redis.imOutcomeMarkDone(this.key(key), DONE_SUFFIX, ttlMs);
  }

  async replace(key: string, outcome: SendOutcome): Promise<boolean> {
    const encoded = Buffer.from(SendOutcome.encode({ ...outcome, done: false }).finish());
    const setDone = outcome.done ? '1' : '0';
    return (await this.redis.imOutcomeReplace(this.key(key), encoded, DONE_SUFFIX, setDone)) === 1;
  }
}
