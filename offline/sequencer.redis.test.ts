// Sequencer contract against the real Redis of `npm run engines` (started if needed; never skipped), plus a
// kill -9 of a Redis of our own in the middle of an allocation loop.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { connectRedis, deleteByPrefix } from '../test/redis.ts';
import { message } from '../test/fixtures.ts';
import { MemoryInboxStore } from './inbox-store.memory.ts';
import { MemorySeqTermStore } from './seq-term-store.memory.ts';
import { TERM_SHIFT } from './seq-term-store.ts';
import { sequencerContract } from './sequencer.contract.ts';
import { HOLD_ALL_READS, RedisSequencer } from './sequencer.redis.ts';
import { memoryOffline } from '../test/offline.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const REDIS_SERVER = '/usr/bin/redis-server';

const inFlightTtlMs = 600;
sequencerContract(
  'redis',
  async () => {
    const prefix = `test:seq:${randomUUID()}:`;
    const redis = await connectRedis();
    return {
      sequencer: new RedisSequencer(redis, new MemorySeqTermStore(), { prefix, inFlightTtlMs }),
      inFlightTtlMs,
      // What FLUSHALL would do to this sequencer, without touching anyone else's keys on the shared Redis.
      lose: () => deleteByPrefix(redis, prefix),
      close: async () => {
        await deleteByPrefix(redis, prefix);
        await redis.quit();
      },
    };
  },
  { losesState: true },
);

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/** A throwaway redis-server without persistence: kill -9 loses everything, like a crashed cache node. */
class OwnRedis {
  private child: ChildProcess | undefined;
  private readonly dir = mkdtempSync(join(tmpdir(), 'im-seq-redis-'));

  constructor(readonly port: number) {}

  async start(): Promise<void> {
    // prettier-ignore
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', this.dir];
    const child = spawn(REDIS_SERVER, args, { stdio: 'ignore' });
    this.child = child;
    const exited = new Promise<never>((_, reject) =>
      child.once('exit', (code) => reject(new Error(`redis-server on ${this.port} exited (${code})`))),
    );
    exited.catch(() => undefined);
    const probe = new Redis({ port: this.port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null });
    probe.on('error', () => undefined);
    try {
      for (let i = 0; ; i++) {
        try {
          await Promise.race([probe.connect().then(() => probe.ping()), exited]);
          return;
        } catch (err) {
          if (i >= 100) throw err;
          probe.disconnect();
          await sleep(50);
        }
      }
    } finally {
      probe.disconnect();
    }
  }

  /** kill -9: no shutdown, no save. */
  async kill(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }

  async stop(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

describe('RedisSequencer across kill -9 of its Redis', () => {
  let server: OwnRedis;
  const clients: Redis[] = [];
  before(async () => {
    server = new OwnRedis(await freePort());
    await server.start();
  });
  after(async () => {
    for (const client of clients) client.disconnect();
    await server?.stop();
  });

  it(
    'never reuses a seq and keeps every user increasing; reads are held after each restart',
    { timeout: 120_000 },
    async () => {
      const terms = new MemorySeqTermStore(); // the durable half, shared like the Cassandra table would be
      const client = () => {
        const redis = new Redis({
          port: server.port,
          host: '127.0.0.1',
          connectTimeout: 1000,
          maxRetriesPerRequest: 2,
          retryStrategy: (times) => Math.min(20 * times, 200), // never gives up reconnecting
        });
        redis.on('error', () => undefined); // surfaced through the awaited commands, which the loop retries
        clients.push(redis);
        return redis;
      };
      // Two "offline processes" with their own connections, allocating concurrently.
      const sequencers = [0, 1].map(() => new RedisSequencer(client(), terms, { prefix: 'im:', inFlightTtlMs: 400 }));
      const users = ['u0', 'u1', 'u2', 'u3', 'u4'];
      const TOTAL = 2_000; // allocations over both workers
      const BATCH = 4;
      const started = Date.now();
      const deadline = started + 90_000;
      let allocated = 0;
      let failures = 0;
      /** per worker, per user: seqs in the order the worker got them */
      const got = [0, 1].map(() => new Map<string, number[]>(users.map((u) => [u, []])));

      const allocateWithRetry = async (s: RedisSequencer, batch: string[]): Promise<number[]> => {
        for (let attempt = 0; ; attempt++) {
          try {
            return await s.allocate(batch);
          } catch (err) {
            failures++;
            if (attempt >= 200 || Date.now() > deadline) throw err;
            await sleep(Math.min(10 * 2 ** attempt, 250));
          }
        }
      };
      const worker = async (w: number) => {
        const s = sequencers[w]!;
        for (let i = 0; allocated < TOTAL; i++) {
          assert.ok(Date.now() < deadline, 'allocation loop ran out of time');
          const batch = Array.from({ length: BATCH }, (_, j) => users[(i + j + w) % users.length]!);
          allocated += batch.length;
          const seqs = await allocateWithRetry(s, batch);
          seqs.forEach((seq, j) => got[w]!.get(batch[j]!)!.push(seq));
          // Complete most of them, as the inbox writer would; some stay in flight and expire.
          if (i % 5 !== 0) await s.complete(seqs.map((seq, j) => ({ user: batch[j]!, seq }))).catch(() => undefined);
        }
      };

      const chaos = async () => {
        for (const at of [TOTAL / 3, (2 * TOTAL) / 3]) {
          for (let i = 0; allocated < at && i < 10_000; i++) await sleep(1);
          await server.kill();
          await sleep(150); // allocations fail meanwhile and are retried
          await server.start();
          // Right after the restart reads are held, whether or not a sequencer has rebuilt yet.
          const bound = await sequencers[0]!.lowestInFlight('u0');
          assert.ok(bound === HOLD_ALL_READS, `reads not held after a restart: lowestInFlight = ${bound}`);
        }
      };

      await Promise.all([worker(0), worker(1), chaos()]);

      const all = new Map<string, number[]>(users.map((u) => [u, []]));
      for (const perUser of got) {
        for (const [u, seqs] of perUser) {
          for (let i = 1; i < seqs.length; i++) {
            assert.ok(seqs[i]! > seqs[i - 1]!, `${u}: ${seqs[i]} came after ${seqs[i - 1]}`);
          }
          all.get(u)!.push(...seqs);
        }
      }
      let count = 0;
      const termsSeen = new Set<number>();
      for (const [u, seqs] of all) {
        assert.equal(new Set(seqs).size, seqs.length, `${u}: a seq was handed out twice`);
        for (const seq of seqs) termsSeen.add(Math.floor(seq / TERM_SHIFT));
        count += seqs.length;
      }
      assert.ok(count >= TOTAL, `${count} allocations`);
      assert.ok(termsSeen.size >= 3, `terms seen: ${[...termsSeen].join(', ')} (expected one per Redis start)`);
      console.log(
        `${count} seqs in ${Date.now() - started} ms over terms ${[...termsSeen].join(', ')}; ` +
          `${failures} failed calls retried; rebuilds ${sequencers.map((s) => s.rebuilds).join('+')}`,
      );
    },
  );
});

describe('RedisSequencer rebuild race', () => {
  it('never installs a term in a Redis that lost its data again while the term was being advanced', async () => {
    const prefix = `test:seq-race:${randomUUID()}:`;
    const redis = await connectRedis();
    try {
      await redis.ping();
      const durable = new MemorySeqTermStore();
      const b = new RedisSequencer(redis, durable, { prefix, inFlightTtlMs: 500 });
      let bSeqs: number[] = [];
      let hooked = false;
      // A's view of the durable store: while A advances, B rebuilds from the same lost state, allocates under the
      // new term, and then Redis loses its data again, before A installs what advance() returned.
      const slowForA = {
        generation: () => durable.generation(),
        current: () => durable.current(),
        markUsed: (term: number) => durable.markUsed(term),
        lastUsed: () => durable.lastUsed(),
        advance: async (seen: number) => {
          if (!hooked) {
            hooked = true;
            bSeqs = await b.allocate(['u', 'u']);
            await deleteByPrefix(redis, prefix);
          }
          return durable.advance(seen);
        },
      };
      const a = new RedisSequencer(redis, slowForA, { prefix, inFlightTtlMs: 500 });
      const [aSeq] = (await a.allocate(['u'])) as [number];
      assert.ok(hooked, 'the race was not staged');
      assert.ok(aSeq > Math.max(...bSeqs), `A got ${aSeq}, B had ${bSeqs.join(', ')} from the lost Redis`);
      assert.ok(Math.floor(aSeq / TERM_SHIFT) > Math.floor(bSeqs[0]! / TERM_SHIFT));
    } finally {
      await deleteByPrefix(redis, prefix);
      await redis.quit();
    }
  });
});

describe('Offline over RedisSequencer after Redis lost its data', () => {
  it('reads nothing new until seqs from before the loss could have been written, then everything', async () => {
    const prefix = `test:seq-offline:${randomUUID()}:`;
    const redis = await connectRedis();
    try {
      await redis.ping();
      const ttl = 500;
      const sequencer = new RedisSequencer(redis, new MemorySeqTermStore(), { prefix, inFlightTtlMs: ttl });
      const offline = memoryOffline({ sequencer, inbox: new MemoryInboxStore(1000) });
      const write = (seq: number) => offline.writeInbox({ entries: [{ user: 'u', message: message(seq) }] });
      const read = async () =>
        (await offline.readInbox({ user: 'u', afterSeq: 0, limit: 100 })).messages.map((m) => m.seq);

      const [s1, s2] = (await offline.allocateSeqs({ users: ['u', 'u'] })).seqs as [number, number];
      await sleep(ttl + 100); // the hold of the first start is over
      await write(s1);
      assert.deepEqual(await read(), [s1]); // s2 still in flight
      await deleteByPrefix(redis, prefix); // Redis loses s2's in-flight entry
      assert.deepEqual(await read(), [], 'a reader could move past s2, which is still being written');
      const [s3] = (await offline.allocateSeqs({ users: ['u'] })).seqs as [number];
      await write(s3);
      await write(s2); // the writer of before the loss finishes late
      assert.deepEqual(await read(), []);
      await sleep(ttl + 100);
      assert.deepEqual(await read(), [s1, s2, s3]);
    } finally {
      await deleteByPrefix(redis, prefix);
      await redis.quit();
    }
  });
});

describe('RedisSequencer on a fresh deployment', () => {
  it('does not hold reads: no seq was ever handed out, so none can be in flight', async () => {
    const prefix = `test:seq-fresh:${randomUUID()}:`;
    const redis = await connectRedis();
    try {
      const sequencer = new RedisSequencer(redis, new MemorySeqTermStore(), { prefix, inFlightTtlMs: 60_000 });
      const [seq] = (await sequencer.allocate(['u'])) as [number];
      await sequencer.complete([{ user: 'u', seq }]);
      assert.equal(await sequencer.lowestInFlight('u'), undefined);
    } finally {
      await deleteByPrefix(redis, prefix);
      await redis.quit();
    }
  });
});
