// The canary test's scans of the real engines (cluster mode): every row of every Cassandra table of the keyspace,
// every Redis key and value, every Kafka record of every topic since the run started, every Elasticsearch document
// of the cluster's index prefix and a query of every index for each word.
import { setTimeout as sleep } from 'node:timers/promises';
import cassandra from 'cassandra-driver';
import { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import type { EngineEndpoints } from '../../infra/engine-config.ts';
import { topics } from '../../lib/topics.ts';
import type { CanaryLedger } from './canary.ts';

export const CASSANDRA = 'Cassandra (every table of keyspace im)';
export const REDIS = 'Redis (every key)';
export const KAFKA = 'Kafka (every topic, every record since the run started)';
export const ELASTICSEARCH = "Elasticsearch (the cluster's indices)";
export const ELASTICSEARCH_QUERY = 'Elasticsearch (query of every index)';

/** The bytes of a value of any shape a driver returns (blobs as they are, text as UTF-8, collections flattened). */
function bytesOf(value: unknown): Buffer[] {
  if (value === null || value === undefined) return [];
  if (Buffer.isBuffer(value)) return [value];
  if (typeof value === 'string') return [Buffer.from(value, 'utf8')];
  if (Array.isArray(value) || value instanceof Set) return [...value].flatMap(bytesOf);
  if (value instanceof Map) return [...value].flatMap(bytesOf);
  if (typeof value === 'object' && value.constructor === Object) return Object.entries(value).flatMap(bytesOf);
  return [Buffer.from(String(value as string | number), 'utf8')];
}

/** One item from many values, a byte no text holds between them. */
const joined = (values: unknown[]) => Buffer.concat(values.flatMap(bytesOf).flatMap((b) => [b, Buffer.of(0)]));

export async function scanCassandra(ledger: CanaryLedger, endpoint: EngineEndpoints['cassandra']): Promise<void> {
  const client = new cassandra.Client({
    contactPoints: endpoint.contactPoints,
    localDataCenter: endpoint.localDataCenter,
  });
  try {
    const { rows } = await client.execute('SELECT table_name FROM system_schema.tables WHERE keyspace_name = ?', [
      'im',
    ]);
    const counts: string[] = [];
    for (const table of rows.map((r) => r.get('table_name') as string)) {
      let n = 0;
      for await (const row of await client.execute(`SELECT * FROM im.${table}`, [], { fetchSize: 2000 })) {
        ledger.check(CASSANDRA, joined(row.values()), `im.${table} row ${++n}: ${JSON.stringify(row).slice(0, 300)}`);
      }
      counts.push(`${table} ${n}`);
    }
    ledger.note(CASSANDRA, `${rows.length} tables, rows: ${counts.join(', ')}`);
  } finally {
    await client.shutdown();
  }
}

/** A key's value by its type: string, hash, list, set, sorted set (with scores) or stream. */
async function valueOf(redis: Redis, key: Buffer): Promise<unknown[]> {
  switch (await redis.type(key)) {
    case 'string':
      return [await redis.getBuffer(key)];
    case 'hash':
      return [await redis.hgetallBuffer(key)];
    case 'list':
      return await redis.lrangeBuffer(key, 0, -1);
    case 'set':
      return await redis.smembersBuffer(key);
    case 'zset':
      return await redis.zrangeBuffer(key, 0, '-1', 'WITHSCORES');
    case 'stream':
      return (await redis.xrangeBuffer(key, '-', '+')).flat(2);
    default:
      return []; // gone since the SCAN
  }
}

/** Every key of every database of the Redis (other runs' keys too: a key outside the cluster's prefix is a leak too). */
export async function scanRedis(
  ledger: CanaryLedger,
  endpoint: EngineEndpoints['redis'],
  prefix: string,
): Promise<void> {
  const redis = new Redis({ ...endpoint, maxRetriesPerRequest: 1, lazyConnect: true });
  redis.on('error', () => undefined); // failures surface through the awaited commands
  await redis.connect();
  try {
    const databases = Number((await redis.config('GET', 'databases'))[1]);
    let keys = 0;
    let ours = 0;
    for (let db = 0; db < databases; db++) {
      await redis.select(db);
      let cursor = '0';
      do {
        const [next, batch] = await redis.scanBuffer(cursor, 'COUNT', 1000);
        cursor = next.toString();
        for (const key of batch) {
          keys += 1;
          if (key.toString().startsWith(prefix)) ours += 1;
          ledger.check(REDIS, joined([key, ...(await valueOf(redis, key))]), `db ${db} key ${key.toString()}`);
        }
      } while (cursor !== '0');
    }
    ledger.note(REDIS, `${keys} keys in ${databases} databases, ${ours} under the cluster's prefix ${prefix}`);
  } finally {
    redis.disconnect();
  }
}

/**
 * Every record of every topic from the first one at or after `sinceMs` (no earlier one can hold a word made after it)
 * up to the end offsets taken before reading, key, value and headers; through a consumer group of its own, deleted
 * afterwards.
 */
export async function scanKafka(
  ledger: CanaryLedger,
  endpoint: EngineEndpoints['kafka'],
  sinceMs: number,
): Promise<void> {
  const kafka = new Kafka({ clientId: 'canary-scan', brokers: endpoint.brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const groupId = `canary-scan-${Date.now().toString(36)}`;
  const names = Object.values(topics).map((t) => t.name);
  /** The next offset to read per topic/partition, and the end to read up to. */
  const left = new Map<string, { start: number; end: number }>();
  for (const topic of names) {
    const starts = await admin.fetchTopicOffsetsByTimestamp(topic, sinceMs);
    const ends = await admin.fetchTopicOffsets(topic);
    for (const { partition, offset } of starts) {
      const end = Number(ends.find((e) => e.partition === partition)!.high);
      if (Number(offset) < end) left.set(`${topic}/${partition}`, { start: Number(offset), end });
    }
  }
  const consumer = kafka.consumer({ groupId });
  let records = 0;
  let older = 0;
  try {
    await consumer.connect();
    // From the beginning, then on from the start offsets: a fetch made before the seeks reads more, never less.
    await consumer.subscribe({ topics: names, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: ({ topic, partition, message }) => {
        const at = `${topic}/${partition}`;
        const headers = Object.entries(message.headers ?? {});
        ledger.check(KAFKA, joined([message.key, message.value, headers]), `${at} offset ${message.offset}`);
        records += 1;
        if (Number(message.timestamp) < sinceMs) older += 1;
        const p = left.get(at);
        if (p && Number(message.offset) + 1 >= p.end) left.delete(at);
        return Promise.resolve();
      },
    });
    for (const [at, { start }] of left) {
      const [topic, partition] = at.split('/') as [string, string];
      consumer.seek({ topic, partition: Number(partition), offset: String(start) });
    }
    const deadline = Date.now() + 60_000;
    while (left.size > 0) {
      if (Date.now() > deadline) throw new Error(`kafka: not read to the end in 60 s: ${[...left.keys()].join(', ')}`);
      await sleep(100);
    }
    const since = new Date(sinceMs).toISOString();
    ledger.note(KAFKA, `${records} records of ${names.length} topics, ${older} of them from before ${since}`);
  } finally {
    await consumer.disconnect();
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect();
  }
}

async function es(node: string, path: string, body?: unknown): Promise<string> {
  const res = await fetch(`${node}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`elasticsearch: ${path} answered ${res.status}: ${text.slice(0, 500)}`);
  return text;
}

/**
 * Every document of the indices under `prefix`, as Elasticsearch returns it (the raw JSON of each hit), and a query of
 * every index for each word.
 */
export async function scanElasticsearch(
  ledger: CanaryLedger,
  endpoint: EngineEndpoints['elasticsearch'],
  prefix: string,
): Promise<void> {
  await es(endpoint.node, '/_refresh');
  const all = await es(endpoint.node, `/${prefix}*/_search?size=10000&seq_no_primary_term=false`, {
    query: { match_all: {} },
  });
  const { hits } = JSON.parse(all) as { hits: { hits: { _index: string; _id: string }[] } };
  // The raw answer is the item (no decoding and re-encoding in between); each hit counts as one item too.
  ledger.check(ELASTICSEARCH, all, `${prefix}* _search`);
  for (const hit of hits.hits) ledger.check(ELASTICSEARCH, JSON.stringify(hit), `${hit._index}/${hit._id}`);
  ledger.note(ELASTICSEARCH, `${hits.hits.length} documents under ${prefix}*`);
  for (const word of [...ledger.canaries, ledger.control]) {
    const query = { simple_query_string: { query: `"${word}"`, fields: ['*'], lenient: true } };
    const answer = JSON.parse(await es(endpoint.node, '/*/_search?size=10', { query })) as {
      hits: { total: { value: number }; hits: { _index: string }[] };
    };
    const where = answer.hits.hits.map((h) => h._index).join(', ');
    ledger.checkQuery(ELASTICSEARCH_QUERY, word, answer.hits.total.value, `indices ${where}`);
  }
}
