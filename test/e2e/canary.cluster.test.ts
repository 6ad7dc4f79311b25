import { existsSync, openSync, readSync, closeSync, statSync } from 'node:fs';
import { Client } from '@elastic/elasticsearch';
import { ENGINE_NAMES, paths } from '../../infra/engine-config.ts';
import { messagesAlias } from '../../search/index.ts';
import { settingsEnv } from '../fakes/push-providers.ts';
import { engines } from '../engines.ts';
import type { CanaryLedger } from './canary.ts';
import {
  CASSANDRA,
  ELASTICSEARCH,
  ELASTICSEARCH_QUERY,
  KAFKA,
  scanCassandra,
  scanElasticsearch,
  scanKafka,
  scanRedis,
  REDIS,
} from './canary-engines.ts';
import { canarySuite, SEARCH_API } from './canary.suite.ts';
import { clusterTarget, startTestCluster } from './cluster-harness.ts';

const LOGS = "the service processes' output (trace level)";
const ENGINE_LOGS = "the engines' own logs (what they wrote during the run)";
const METRICS = '/metrics of every process';

/** What a file gained since `from` bytes. */
function readFrom(path: string, from: number): Buffer {
  const size = statSync(path).size;
  const bytes = Buffer.alloc(Math.max(0, size - from));
  const fd = openSync(path, 'r');
  try {
    readSync(fd, bytes, 0, bytes.length, from);
  } finally {
    closeSync(fd);
  }
  return bytes;
}

async function timed(ledger: CanaryLedger, place: string, scan: () => Promise<void>): Promise<void> {
  const started = Date.now();
  await scan();
  ledger.note(place, `scanned in ${Date.now() - started} ms`);
}

// Six service processes on the four engines, logging everything; their own Redis key prefix and search index prefix
// (the index and its template dropped at the end).
canarySuite(
  'cluster: 2 gateways, Cassandra, Redis, Kafka, Elasticsearch',
  async (settings) => {
    const run = Date.now().toString(36);
    const startedMs = Date.now();
    const redisPrefix = `canary${run}:`;
    const searchPrefix = `im-canary-${run}`;
    const lines: string[] = [];
    const endpoints = await engines('kafka', 'cassandra', 'elasticsearch', 'redis');
    const engineLogs = ENGINE_NAMES.map((name) => paths.log(name)).filter((p) => existsSync(p));
    const logStarts = new Map(engineLogs.map((p) => [p, statSync(p).size]));
    const cluster = await startTestCluster(
      {
        ...settingsEnv(settings),
        IM_LOG_LEVEL: 'trace',
        IM_REDIS_PREFIX: redisPrefix,
        IM_SEARCH_INDEX_PREFIX: searchPrefix,
      },
      { onLine: (line) => void lines.push(line) },
    );
    return {
      ...clusterTarget(cluster),
      scanRunning: async (ledger: CanaryLedger) => {
        for (const url of cluster.metricsUrls()) ledger.check(METRICS, await (await fetch(url)).text(), url);
        await timed(ledger, CASSANDRA, () => scanCassandra(ledger, endpoints.cassandra));
        await timed(ledger, REDIS, () => scanRedis(ledger, endpoints.redis, redisPrefix));
        await timed(ledger, KAFKA, () => scanKafka(ledger, endpoints.kafka, startedMs));
        await timed(ledger, ELASTICSEARCH, () => scanElasticsearch(ledger, endpoints.elasticsearch, searchPrefix));
      },
      scanStopped: async (ledger: CanaryLedger) => {
        for (const [i, line] of lines.entries()) ledger.check(LOGS, line, `line ${i + 1}: ${line.slice(0, 200)}`);
        for (const [path, from] of logStarts) ledger.check(ENGINE_LOGS, readFrom(path, from), path);
        const es = new Client({ node: endpoints.elasticsearch.node });
        await es.indices.delete({ index: `${messagesAlias({ prefix: searchPrefix })}-*` }).catch(() => undefined);
        await es.indices.deleteIndexTemplate({ name: messagesAlias({ prefix: searchPrefix }) }).catch(() => undefined);
        await es.close();
      },
    };
  },
  [CASSANDRA, KAFKA, ELASTICSEARCH, ELASTICSEARCH_QUERY, SEARCH_API],
);
