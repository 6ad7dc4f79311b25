// Where the local engines live on disk and which loopback ports they use.
// Every port can be overridden by an environment variable (see `portFromEnv` calls below).
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export type EngineName = 'kafka' | 'cassandra' | 'elasticsearch' | 'redis';
export const ENGINE_NAMES: readonly EngineName[] = ['kafka', 'cassandra', 'elasticsearch', 'redis'];

export interface EngineEndpoints {
  kafka: { brokers: string[] };
  cassandra: { contactPoints: string[]; localDataCenter: string; port: number };
  elasticsearch: { node: string };
  redis: { host: string; port: number };
}

export const HOST = '127.0.0.1';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const infraDir = join(repoRoot, 'infra');
/** Root of everything the engines write: jars, data, logs, pid files. Gitignored. */
export const enginesHome = process.env.IM_ENGINES_HOME
  ? resolve(process.env.IM_ENGINES_HOME)
  : join(repoRoot, '.engines');

export const paths = {
  cache: (engine: EngineName, version: string) => join(enginesHome, 'cache', `${engine}-${version}`),
  data: (engine: EngineName) => join(enginesHome, 'data', engine),
  conf: (engine: EngineName) => join(enginesHome, 'conf', engine),
  log: (engine: EngineName) => join(enginesHome, 'logs', `${engine}.log`),
  fetchLog: (engine: EngineName) => join(enginesHome, 'logs', `${engine}-fetch.log`),
  pid: (engine: EngineName) => join(enginesHome, 'run', `${engine}.pid`),
  lock: (engine: EngineName) => join(enginesHome, 'run', `${engine}.lock`),
};

function portFromEnv(variable: string, fallback: number): number {
  const raw = process.env[variable];
  if (raw === undefined || raw === '') return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`${variable}=${raw} is not a TCP port`);
  }
  return port;
}

export const ports = {
  kafka: portFromEnv('IM_KAFKA_PORT', 19092),
  kafkaController: portFromEnv('IM_KAFKA_CONTROLLER_PORT', 19093),
  cassandra: portFromEnv('IM_CASSANDRA_PORT', 19042),
  cassandraStorage: portFromEnv('IM_CASSANDRA_STORAGE_PORT', 17000),
  elasticsearch: portFromEnv('IM_ES_PORT', 19200),
  elasticsearchTransport: portFromEnv('IM_ES_TRANSPORT_PORT', 19300),
  redis: portFromEnv('IM_REDIS_PORT', 16379),
};

/** Datacenter name that Cassandra's SimpleSnitch reports; cassandra-driver needs it as localDataCenter. */
export const CASSANDRA_DC = 'datacenter1';

export const endpoints: EngineEndpoints = {
  kafka: { brokers: [`${HOST}:${ports.kafka}`] },
  cassandra: { contactPoints: [`${HOST}:${ports.cassandra}`], localDataCenter: CASSANDRA_DC, port: ports.cassandra },
  elasticsearch: { node: `http://${HOST}:${ports.elasticsearch}` },
  redis: { host: HOST, port: ports.redis },
};

/** Upper bound for one engine to answer after its process was spawned. */
export const startTimeoutMs = Number(process.env.IM_ENGINE_START_TIMEOUT_MS ?? 180_000);
