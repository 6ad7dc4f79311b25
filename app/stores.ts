import type { Redis } from 'ioredis';
import type { Client } from '../lib/cassandra.ts';
import type { Config } from '../lib/config.ts';
import { IN_MEMORY, openDataDir } from '../lib/data-dir.ts';
import { groupCommit } from '../lib/group-commit.ts';
import type { Closeable } from '../lib/lifecycle.ts';
import { CassandraGroupStore } from '../logic/group-store.cassandra.ts';
import { MemoryGroupStore } from '../logic/group-store.memory.ts';
import { SqliteGroupStore } from '../logic/group-store.sqlite.ts';
import type { GroupStore } from '../logic/group-store.ts';
import { CassandraKeyDirectory } from '../logic/keys/key-directory.cassandra.ts';
import { MemoryKeyDirectory } from '../logic/keys/key-directory.memory.ts';
import { SqliteKeyDirectory } from '../logic/keys/key-directory.sqlite.ts';
import type { KeyDirectory } from '../logic/keys/key-directory.ts';
import { CassandraOutcomeStore } from '../logic/outcome-store.cassandra.ts';
import { MemoryOutcomeStore } from '../logic/outcome-store.memory.ts';
import { SqliteOutcomeStore } from '../logic/outcome-store.sqlite.ts';
import type { OutcomeStore } from '../logic/outcome-store.ts';
import type { NoticeStores } from '../logic/index.ts';
import { CassandraAppStore } from '../logic/notices/app-store.cassandra.ts';
import { MemoryAppStore } from '../logic/notices/app-store.memory.ts';
import { SqliteAppStore } from '../logic/notices/app-store.sqlite.ts';
import { MemoryNonceStore } from '../logic/notices/nonce-store.memory.ts';
import { RedisNonceStore } from '../logic/notices/nonce-store.redis.ts';
import { SqliteNonceStore } from '../logic/notices/nonce-store.sqlite.ts';
import { CassandraNoticeStore } from '../logic/notices/notice-store.cassandra.ts';
import { MemoryNoticeStore } from '../logic/notices/notice-store.memory.ts';
import { SqliteNoticeStore } from '../logic/notices/notice-store.sqlite.ts';
import { CassandraTagStore } from '../logic/notices/tag-store.cassandra.ts';
import { MemoryTagStore } from '../logic/notices/tag-store.memory.ts';
import { SqliteTagStore } from '../logic/notices/tag-store.sqlite.ts';
import { Offline } from '../offline/index.ts';
import { CassandraDeadLetterStore } from '../push/mobile/dead-letter-store.cassandra.ts';
import { MemoryDeadLetterStore } from '../push/mobile/dead-letter-store.memory.ts';
import { SqliteDeadLetterStore } from '../push/mobile/dead-letter-store.sqlite.ts';
import type { DeadLetterStore } from '../push/mobile/dead-letter-store.ts';
import { CassandraDeviceTokenStore } from '../push/mobile/device-token-store.cassandra.ts';
import { MemoryDeviceTokenStore } from '../push/mobile/device-token-store.memory.ts';
import { SqliteDeviceTokenStore } from '../push/mobile/device-token-store.sqlite.ts';
import type { DeviceTokenStore } from '../push/mobile/device-token-store.ts';
import { CassandraMuteStore } from '../push/mobile/mute-store.cassandra.ts';
import { MemoryMuteStore } from '../push/mobile/mute-store.memory.ts';
import { SqliteMuteStore } from '../push/mobile/mute-store.sqlite.ts';
import type { MuteStore } from '../push/mobile/mute-store.ts';
import { CassandraRevocationStore } from '../gateway/revocations/revocation-store.cassandra.ts';
import { MemoryRevocationStore } from '../gateway/revocations/revocation-store.memory.ts';
import { SqliteRevocationStore } from '../gateway/revocations/revocation-store.sqlite.ts';
import type { RevocationStore } from '../gateway/revocations/revocation-store.ts';
import { CassandraInboxStore } from '../offline/inbox-store.cassandra.ts';
import { MemoryInboxStore } from '../offline/inbox-store.memory.ts';
import { SqliteInboxStore } from '../offline/inbox-store.sqlite.ts';
import { CassandraSeqTermStore } from '../offline/seq-term-store.cassandra.ts';
import { MemorySequencer } from '../offline/sequencer.memory.ts';
import { RedisSequencer } from '../offline/sequencer.redis.ts';
import { SqliteSequencer } from '../offline/sequencer.sqlite.ts';
import { MemoryStreamHeads } from '../offline/stream-heads.memory.ts';
import { RedisStreamHeads } from '../offline/stream-heads.redis.ts';
import { SqliteStreamHeads } from '../offline/stream-heads.sqlite.ts';
import { MemoryUnreadStore } from '../offline/unread-store.memory.ts';
import { RedisUnreadStore } from '../offline/unread-store.redis.ts';
import { SqliteUnreadStore } from '../offline/unread-store.sqlite.ts';
import { MiniSearchIndex } from '../search/index.ts';

/**
 * The durable state a process works on: offline's stores (behind the Offline service), groups and send outcomes.
 * This file is the one place that picks their adapters, by mode: memory (tests, IM_DATA_DIR=:memory:), the
 * embedded data directory (SQLite, `npm start`), or the real engines (Redis and Cassandra, cluster mode).
 */
export interface Stores extends Closeable {
  offline: Offline;
  groups: GroupStore;
  outcomes: OutcomeStore;
  /** Devices' public end-to-end keys (issue 24). */
  keys: KeyDirectory;
  /** Apps, nonces of signed requests, notices and tags. */
  notices: NoticeStores;
  /** Devices' push tokens, and mobile pushes the providers would not take (kept with the rest; bounded, oldest out). */
  mobile: { tokens: DeviceTokenStore; deadLetters: DeadLetterStore; mutes: MuteStore };
  /** Sign-ins the operator revoked (a lost phone): refused at connect until no token they name can be valid. */
  revocations: RevocationStore;
  /** Embedded mode's index of messages, kept with the rest (cluster mode's is the search service's own). */
  search?: MiniSearchIndex;
  /** Where the data is kept: a directory, or a description of where it lives. */
  where: string;
  /** Resolves once every write so far is durable, where writes are committed in groups (the data directory). */
  durable?: () => Promise<void>;
}

/** Embedded mode: on disk in IM_DATA_DIR, or in memory when it says `:memory:`. */
export function embeddedStores(config: Config): Stores {
  return config.dataDir === IN_MEMORY ? memoryStores(config) : diskStores(config);
}

export function memoryStores(config: Config): Stores {
  return {
    offline: new Offline(
      new MemorySequencer(config.seqInFlightTtlMs),
      new MemoryInboxStore(config.inboxRetainedPerUser),
      new MemoryUnreadStore(),
      new MemoryStreamHeads(),
    ),
    groups: new MemoryGroupStore(),
    outcomes: new MemoryOutcomeStore(),
    keys: new MemoryKeyDirectory(),
    notices: {
      apps: new MemoryAppStore(),
      nonces: new MemoryNonceStore(),
      notices: new MemoryNoticeStore(),
      tags: new MemoryTagStore(),
    },
    mobile: {
      tokens: new MemoryDeviceTokenStore(),
      deadLetters: new MemoryDeadLetterStore(),
      mutes: new MemoryMuteStore(),
    },
    revocations: new MemoryRevocationStore(),
    search: new MiniSearchIndex(),
    where: 'memory (nothing is kept when the process ends)',
    close: () => Promise.resolve(),
  };
}

/** Every store in one SQLite file of the data directory, which this process holds while it runs. */
export function diskStores(config: Config): Stores {
  const dir = openDataDir(config.dataDir, config.dataDurability);
  const { db } = dir;
  return {
    offline: new Offline(
      new SqliteSequencer(db, { inFlightTtlMs: config.seqInFlightTtlMs }),
      new SqliteInboxStore(db, { retainedPerUser: config.inboxRetainedPerUser }),
      new SqliteUnreadStore(db),
      new SqliteStreamHeads(db),
    ),
    groups: new SqliteGroupStore(db),
    outcomes: new SqliteOutcomeStore(db),
    keys: new SqliteKeyDirectory(db),
    notices: {
      apps: new SqliteAppStore(db),
      nonces: new SqliteNonceStore(db),
      notices: new SqliteNoticeStore(db),
      tags: new SqliteTagStore(db),
    },
    mobile: {
      tokens: new SqliteDeviceTokenStore(db),
      deadLetters: new SqliteDeadLetterStore(db),
      mutes: new SqliteMuteStore(db),
    },
    revocations: new SqliteRevocationStore(db),
    search: new MiniSearchIndex({ db }),
    where: dir.path,
    durable: () => groupCommit(db).durable(),
    // What the last turn wrote is committed before the file is let go.
    close: () => Promise.resolve(dir.close()),
  };
}

/**
 * Cluster mode: offline's stores over Redis (sequences, unread counts, stream heads) and Cassandra (inboxes,
 * sequence terms), groups and outcomes in Cassandra (outcomes must survive a Redis that lost its data). The clients
 * are the caller's to close.
 */
export function engineStores(config: Config, redis: Redis, cassandra: Client): Stores {
  return {
    offline: engineOffline(config, redis, cassandra),
    groups: new CassandraGroupStore(cassandra),
    outcomes: new CassandraOutcomeStore(cassandra),
    keys: new CassandraKeyDirectory(cassandra),
    notices: {
      apps: new CassandraAppStore(cassandra),
      nonces: new RedisNonceStore(redis, { prefix: config.redisPrefix }),
      notices: new CassandraNoticeStore(cassandra),
      tags: new CassandraTagStore(cassandra),
    },
    mobile: {
      tokens: new CassandraDeviceTokenStore(cassandra),
      deadLetters: new CassandraDeadLetterStore(cassandra),
      mutes: new CassandraMuteStore(cassandra),
    },
    revocations: new CassandraRevocationStore(cassandra),
    where: `Redis ${config.redisUrl} and Cassandra ${config.cassandraContactPoints.join(',')}`,
    close: () => Promise.resolve(),
  };
}

function engineOffline(config: Config, r: Redis, c: Client): Offline {
  return new Offline(
    new RedisSequencer(r, new CassandraSeqTermStore(c, { name: `inbox:${config.redisPrefix}` }), {
      prefix: config.redisPrefix,
      inFlightTtlMs: config.seqInFlightTtlMs,
    }),
    new CassandraInboxStore(c, { retainedPerUser: config.inboxRetainedPerUser }),
    new RedisUnreadStore(r, { prefix: config.redisPrefix }),
    new RedisStreamHeads(r, { prefix: config.redisPrefix }),
  );
}
