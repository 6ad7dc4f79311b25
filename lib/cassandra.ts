// Shared cassandra-driver plumbing for the Cassandra adapters: one way to connect (keyspace im, prepared statements,
// LOCAL_QUORUM, timeouts sized for a small local node), Long conversion, and bounded concurrency.
import pRetry from 'p-retry';
import cassandra from 'cassandra-driver';
import type { Client, DseClientOptions, QueryOptions, types } from 'cassandra-driver';
import { migrate } from '../infra/cassandra-migrate.ts';
import { coalesce } from './coalesce.ts';

export interface CassandraEndpoint {
  /** `host` or `host:port`. */
  contactPoints: string[];
  localDataCenter: string;
  port?: number;
}

export interface ConnectOptions {
  /** Default "im". */
  keyspace?: string;
  /** Apply infra/cql/*.cql first (with a separate short-lived client, since the keyspace may not exist yet). */
  migrate?: boolean;
  log?: (line: string) => void;
}

/** Every query is prepared; reads and writes use LOCAL_QUORUM so a read sees an acknowledged write; LWT LOCAL_SERIAL. */
export const queryDefaults: QueryOptions = {
  prepare: true,
  consistency: cassandra.types.consistencies.localQuorum,
  serialConsistency: cassandra.types.consistencies.localSerial,
};

/** In-flight requests one adapter call keeps at most (Cassandra here has 1 GB; a few concurrent requests suffice). */
export const DEFAULT_CONCURRENCY = 8;

export function clientOptions(endpoint: CassandraEndpoint, keyspace?: string): DseClientOptions {
  return {
    contactPoints: endpoint.contactPoints,
    localDataCenter: endpoint.localDataCenter,
    ...(keyspace ? { keyspace } : {}),
    ...(endpoint.port ? { protocolOptions: { port: endpoint.port } } : {}),
    queryOptions: queryDefaults,
    // Client read timeout above the server's own (write 2 s, read 5 s, CAS contention 1.8 s), so the server's
    // timeout error, which says what timed out, arrives first.
    socketOptions: { connectTimeout: 5_000, readTimeout: 12_000 },
    pooling: {
      coreConnectionsPerHost: { [cassandra.types.distance.local]: 1, [cassandra.types.distance.remote]: 0 },
      maxRequestsPerConnection: 256,
      heartBeatInterval: 30_000,
    },
    policies: {
      reconnection: new cassandra.policies.reconnection.ExponentialReconnectionPolicy(500, 10_000, false),
    },
  };
}

/**
 * A connected client on keyspace `im` (or `options.keyspace`). Throws, naming the contact points, when Cassandra
 * cannot be reached: nothing here retries forever or degrades to a no-op.
 */
export async function connectCassandra(endpoint: CassandraEndpoint, options: ConnectOptions = {}): Promise<Client> {
  const keyspace = options.keyspace ?? 'im';
  const where = `${endpoint.contactPoints.join(',')} (dc ${endpoint.localDataCenter})`;
  const open = async (ks?: string): Promise<Client> => {
    const client = new cassandra.Client(clientOptions(endpoint, ks));
    try {
      await client.connect();
      return client;
    } catch (err) {
      await client.shutdown().catch(() => undefined);
      throw new Error(`cassandra: cannot connect to ${where}${ks ? ` keyspace ${ks}` : ''}: ${errorText(err)}`, {
        cause: err,
      });
    }
  };
  if (options.migrate) {
    const boot = await open();
    try {
      await migrate(boot, undefined, { keyspace, ...(options.log ? { log: options.log } : {}) });
    } finally {
      await boot.shutdown();
    }
  }
  return open(keyspace);
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** A bigint/int/counter column (Long, number, bigint or null) as a JS number; null/undefined as `fallback`. */
export function toNumber(value: unknown, fallback = 0): number {
  if (value === null || value === undefined) return fallback;
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  if (value instanceof cassandra.types.Long) return value.toNumber();
  throw new TypeError(`cassandra: expected a number column, got ${typeof value}`);
}

/** A JS integer as a Long (for USING TIMESTAMP and other bigint binds). */
export function long(value: number): types.Long {
  return cassandra.types.Long.fromNumber(value);
}

export const LONG_MAX: types.Long = cassandra.types.Long.MAX_VALUE;

/** Runs `fn` over `items` with at most `limit` calls in flight; rejects with the first error once in-flight calls end. */
export async function forEachLimit<T>(
  items: Iterable<T>,
  limit: number,
  fn: (item: T) => Promise<unknown>,
): Promise<void> {
  const iterator = items[Symbol.iterator]();
  let failed = false;
  let firstError: unknown;
  const worker = async (): Promise<void> => {
    for (let next = iterator.next(); !next.done && !failed; next = iterator.next()) {
      try {
        await fn(next.value);
      } catch (err) {
        if (!failed) firstError = err;
        failed = true;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, limit) }, worker));
  if (failed) throw firstError;
}

/** One write: a prepared statement and its values. */
export interface Write {
  query: string;
  params: unknown[];
}

/** Writes in one request: a lone write as its statement, several as one unlogged batch. */
export async function writeTogether(
  client: Client,
  writes: readonly Write[],
  options: QueryOptions = {},
): Promise<void> {
  if (writes.length === 1) await client.execute(writes[0]!.query, writes[0]!.params, options);
  else await client.batch([...writes], { ...options, logged: false });
}

/**
 * Writes made during one event-loop turn go out together (lib/coalesce.ts): up to `maxBatch` callers' writes per
 * request, each caller resolved when the request is done. For rows that need no atomicity with each other.
 */
export function coalescedWrites(
  client: Client,
  options: QueryOptions = {},
  maxBatch = 64,
): (writes: Write[]) => Promise<void> {
  return coalesce(
    (writes: Write[]) => writeTogether(client, writes, options),
    { join: (requests) => requests.flat(), split: (_, requests) => requests.map(() => undefined) },
    { maxBatch },
  );
}

/** True for a server-side write timeout, e.g. an LWT that lost Paxos contention (its outcome is unknown). */
export function isWriteTimeout(err: unknown): boolean {
  const writeTimeout: number = cassandra.types.responseErrorCodes.writeTimeout;
  return err instanceof cassandra.errors.ResponseError && err.code === writeTimeout;
}

/**
 * Runs a conditional write (a lightweight transaction) and runs it again, after a short random wait, when it timed
 * out: one that did apply makes the repeat find its work done and answer not applied, which a caller tells by the
 * values it gets back. Any other error, or the last timeout, is thrown.
 */
export function executeAgainOnTimeout(
  client: Client,
  query: string,
  params: unknown[],
  attempts = 6,
): Promise<types.ResultSet> {
  return pRetry(() => client.execute(query, params), {
    retries: attempts - 1,
    minTimeout: 20,
    factor: 2,
    randomize: true,
    shouldRetry: ({ error }) => isWriteTimeout(error),
  });
}

export type { Client };
