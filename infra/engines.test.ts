// Brings the four local engines up through the infra API and smoke-tests each with the app's own clients.
// Run: npx tsx --test infra/engines.test.ts
// Engines that were down before the run are stopped afterwards (set IM_ENGINES_KEEP=1 to keep them).
// Never skips: if an engine cannot start, before() throws and every test fails with the engine's log tail.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client as EsClient } from '@elastic/elasticsearch';
import cassandraDriver from 'cassandra-driver';
import { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import { MIGRATIONS_DIR, migrate, splitCql } from './cassandra-migrate.ts';
import {
  ENGINE_NAMES,
  describe as describeEngines,
  down,
  restart,
  status,
  up,
  type EngineEndpoints,
  type EngineName,
} from './engines.ts';
import { ensureTopics } from './kafka-topics.ts';

const run = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
const t0 = Date.now();
const elapsed = () => `${((Date.now() - t0) / 1000).toFixed(1)}s`;
let ep: EngineEndpoints;
let startedHere: EngineName[] = [];

before(
  async () => {
    const before = await status();
    startedHere = ENGINE_NAMES.filter((n) => before[n] === 'down');
    const upStarted = Date.now();
    ep = await up(undefined, { onProgress: (line) => console.log(`+${elapsed()} ${line}`) });
    console.log(
      `engines up in ${((Date.now() - upStarted) / 1000).toFixed(1)}s (started here: ${startedHere.join(', ') || 'none'})`,
    );
    const info = await describeEngines();
    for (const name of ENGINE_NAMES) {
      const rss = info[name].rssBytes;
      console.log(
        `${name}: ${info[name].state}, pid ${info[name].pid}, rss ${rss === undefined ? '?' : Math.round(rss / 2 ** 20)} MiB, ${info[name].version}`,
      );
    }
  },
  { timeout: 20 * 60_000 },
);

after(
  async () => {
    if (process.env.IM_ENGINES_KEEP !== '1' && startedHere.length > 0) await down(startedHere);
    console.log(`total ${elapsed()}`);
  },
  { timeout: 120_000 },
);

void describe('kafka', () => {
  void it(
    'creates topics idempotently, produces and consumes through a consumer group',
    { timeout: 90_000 },
    async () => {
      const topic = `engines-smoke-${run}`;
      const first = await ensureTopics(ep.kafka.brokers, [{ name: topic, partitions: 2 }]);
      assert.deepEqual(first.created, [topic]);
      const again = await ensureTopics(ep.kafka.brokers, [{ name: topic, partitions: 3 }]);
      assert.deepEqual(again, { created: [], grown: [topic], unchanged: [] });

      const kafka = new Kafka({ clientId: 'engines-test', brokers: ep.kafka.brokers, logLevel: logLevel.NOTHING });
      const producer = kafka.producer();
      const consumer = kafka.consumer({ groupId: `engines-smoke-${run}` });
      try {
        await Promise.all([producer.connect(), consumer.connect()]);
        await consumer.subscribe({ topic, fromBeginning: true });
        const received = new Promise<string[]>((resolve) => {
          const values: string[] = [];
          void consumer.run({
            eachMessage: ({ message }) => {
              values.push(message.value?.toString() ?? '');
              if (values.length === 3) resolve(values.sort());
              return Promise.resolve();
            },
          });
        });
        await producer.send({ topic, messages: ['a', 'b', 'c'].map((v) => ({ key: v, value: v })) });
        assert.deepEqual(await received, ['a', 'b', 'c']);
      } finally {
        await consumer.disconnect();
        await producer.disconnect();
        const admin = kafka.admin();
        await admin.connect();
        await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
        await admin.disconnect();
      }
    },
  );
});

void describe('cassandra', () => {
  void it('splits CQL on semicolons outside strings and comments', () => {
    assert.deepEqual(splitCql('-- c;\nA \'x;y\' ; /* ; */ B "q;" ;\n// end;\nC $$ ; $$'), [
      "A 'x;y'",
      'B "q;"',
      'C $$ ; $$',
    ]);
  });

  void it('applies infra/cql twice (second run is a no-op), then writes and reads', { timeout: 90_000 }, async () => {
    const client = new cassandraDriver.Client({
      contactPoints: ep.cassandra.contactPoints,
      localDataCenter: ep.cassandra.localDataCenter,
    });
    const keyspace = `smoke_${run}`;
    const dir = mkdtempSync(join(tmpdir(), 'cql-'));
    try {
      const first = await migrate(client, MIGRATIONS_DIR);
      assert.ok([...first.applied, ...first.skipped].includes('0001_keyspace.cql'));
      const second = await migrate(client, MIGRATIONS_DIR);
      assert.deepEqual(second.applied, []);
      assert.ok(second.skipped.includes('0001_keyspace.cql'));

      // A throw-away keyspace proves a real first application and the no-op rerun.
      writeFileSync(
        join(dir, '0001_ks.cql'),
        `CREATE KEYSPACE IF NOT EXISTS ${keyspace} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1};`,
      );
      writeFileSync(
        join(dir, '0002_kv.cql'),
        `CREATE TABLE IF NOT EXISTS ${keyspace}.kv (k text PRIMARY KEY, v text);`,
      );
      assert.deepEqual(await migrate(client, dir, { keyspace }), {
        applied: ['0001_ks.cql', '0002_kv.cql'],
        skipped: [],
      });
      assert.deepEqual(await migrate(client, dir, { keyspace }), {
        applied: [],
        skipped: ['0001_ks.cql', '0002_kv.cql'],
      });

      await client.execute(`INSERT INTO ${keyspace}.kv (k, v) VALUES (?, ?)`, ['hello', 'world'], { prepare: true });
      const row = (
        await client.execute(`SELECT v FROM ${keyspace}.kv WHERE k = ?`, ['hello'], { prepare: true })
      ).first();
      assert.equal(row?.get('v'), 'world');
    } finally {
      await client.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`).catch(() => undefined);
      await client.shutdown();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

void describe('elasticsearch', () => {
  void it('passes the v7 client product check, indexes a document and finds it', { timeout: 60_000 }, async () => {
    const es = new EsClient({ node: ep.elasticsearch.node });
    const index = `engines-smoke-${run}`;
    try {
      const info = await es.info<{ version: { number: string } }>();
      assert.equal(info.headers?.['x-elastic-product'], 'Elasticsearch');
      assert.match(info.body.version.number, /^7\.17\./);
      await es.indices.create({
        index,
        body: { mappings: { properties: { text: { type: 'text' }, room: { type: 'keyword' } } } },
      });
      await es.index({ index, id: 'm1', refresh: true, body: { text: 'hello brave new world', room: 'r1' } });
      const found = await es.search<{ hits: { hits: { _id: string }[] } }>({
        index,
        body: { query: { bool: { must: { match: { text: 'brave' } }, filter: { term: { room: 'r1' } } } } },
      });
      assert.deepEqual(
        found.body.hits.hits.map((h) => h._id),
        ['m1'],
      );
      const health = await es.cluster.health({ index, wait_for_status: 'green', timeout: '10s' });
      assert.equal(health.body.status, 'green', 'single node: new indices get 0 replicas');
    } finally {
      await es.indices.delete({ index }).catch(() => undefined);
      await es.close();
    }
  });
});

void describe('redis', () => {
  void it('SET/GET, then restart(redis) comes back empty (no persistence)', { timeout: 60_000 }, async () => {
    const connect = () => new Redis({ host: ep.redis.host, port: ep.redis.port, maxRetriesPerRequest: 1 });
    const key = `engines-smoke:${run}`;
    const r1 = connect();
    try {
      assert.equal(await r1.set(key, 'v1'), 'OK');
      assert.equal(await r1.get(key), 'v1');
    } finally {
      r1.disconnect();
    }
    const pidBefore = (await describeEngines()).redis.pid;
    await restart('redis');
    const info = await describeEngines();
    assert.equal(info.redis.state, 'up');
    assert.notEqual(info.redis.pid, pidBefore);
    const r2 = connect();
    try {
      assert.equal(await r2.ping(), 'PONG');
      assert.equal(await r2.get(key), null);
    } finally {
      r2.disconnect();
    }
  });
});
