// What the building blocks of a cluster send cost on this machine, measured in this run: a gRPC call as the
// services make it (a frame on lib/grpc.ts's call stream) and as a plain grpc-js unary call, against a bare
// node:http2 request of the same size, and a Cassandra row write alone and in unlogged batches. The cluster's
// per-message CPU (latency scenario) is a sum of these, so they say which rates a cluster on this box can reach at
// all, whatever the code around them does. And a loopback TCP round trip between two processes pinned to one core
// and to two: every hop between processes pays it, and the other scenarios pin nothing.
import { execFileSync } from 'node:child_process';
import http2 from 'node:http2';
import { OfflineServiceClient } from '../../proto/gen/im/v1/services.pb.ts';
import { memoryStores } from '../../app/stores.ts';
import { loadConfig } from '../../lib/config.ts';
import { OfflineServiceService } from '../../offline/index.ts';
import { connectCassandra } from '../../lib/cassandra.ts';
import { clientCredentials, grpcClient, secureChannelOptions, serveGrpc, addApi } from '../../lib/grpc.ts';
import { newServiceCa } from '../../lib/service-certs.ts';
import { describe as describeEngines, endpoints } from '../../infra/engines.ts';
import type { EchoPeerApi } from '../clients/echo-peer.ts';
import { Histogram } from '../lib/histogram.ts';
import { machine, PidsCpu } from '../lib/machine.ts';
import { round, writeResult } from '../lib/result.ts';
import { Child } from '../lib/rpc.ts';
import { stopAll, type Ctx } from '../lib/fleet.ts';

const SIZES = {
  tiny: { sec: 0.3, roundTrips: 200 },
  default: { sec: 3, roundTrips: 5_000 },
  large: { sec: 8, roundTrips: 20_000 },
};
/** Each placement of the round-trip pair is measured this many times, in turns with the other. */
const ROUND_TRIP_TURNS = 3;
const CONCURRENCY = [1, 16, 64];

interface Measured {
  block: string;
  concurrency: number;
  /** Rows per request (Cassandra batches), else 1. */
  perRequest: number;
  perSec: number;
  /** CPU of this process (client, and for gRPC/http2 also the server) per call or row, ms. */
  clientCpuMs: number;
  /** Cassandra's own CPU per row, ms. */
  engineCpuMs?: number;
}

/** Runs `op` from `concurrency` loops for `sec` seconds; `op` returns how many units it did. */
async function load(sec: number, concurrency: number, op: () => Promise<number>) {
  let units = 0;
  const end = performance.now() + sec * 1000;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = 0; i < 10_000_000 && performance.now() < end; i++) {
        const done = await op(); // not `units += await op()`: that reads units before the await
        units += done;
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { units, seconds, perSec: Math.round(units / seconds), cpuMs: (cpu.user + cpu.system) / 1000 };
}

/** The same method called as the services call each other (the call stream) and as a plain unary call. */
async function grpcCalls(sec: number): Promise<Measured[]> {
  const { offline } = memoryStores(loadConfig({ inboxRetainedPerUser: 10 }));
  // mTLS, as the services call each other (decision 0028).
  const ca = await newServiceCa('im bench CA');
  const [offlineId, pushId] = await Promise.all([ca.issue('offline'), ca.issue('push')]);
  const server = await serveGrpc((s) => addApi(s, OfflineServiceService, offline), {
    identity: offlineId,
    callers: (role) => role === 'push',
  });
  const streamed = grpcClient(OfflineServiceService, server.address, { identity: pushId, serverRole: 'offline' });
  const unary = new OfflineServiceClient(
    server.address,
    clientCredentials(pushId, 'offline'),
    secureChannelOptions('offline'),
  );
  const request = { user: 'u', device: 'd' };
  const ways: [string, () => Promise<unknown>][] = [
    ['gRPC call on the call stream (lib/grpc.ts)', () => streamed.getCursor(request)],
    [
      'gRPC unary (grpc-js)',
      () =>
        new Promise((resolve, reject) => unary.getCursor(request, (err, res) => (err ? reject(err) : resolve(res)))),
    ],
  ];
  const out: Measured[] = [];
  try {
    for (const [block, call] of ways) {
      await call();
      for (const concurrency of CONCURRENCY) {
        const r = await load(sec, concurrency, async () => (await call(), 1));
        out.push({ block, concurrency, perRequest: 1, perSec: r.perSec, clientCpuMs: round(r.cpuMs / r.units) });
      }
    }
  } finally {
    unary.close();
    await streamed.close();
    await server.close();
  }
  return out;
}

async function bareHttp2(sec: number): Promise<Measured[]> {
  const server = http2.createServer();
  server.on('stream', (stream) => {
    stream.respond({ ':status': 200 });
    stream.end(Buffer.alloc(8));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const session = http2.connect(`http://127.0.0.1:${port}`);
  const request = () =>
    new Promise<number>((resolve, reject) => {
      const req = session.request({ ':method': 'POST', ':path': '/x' });
      req.on('data', () => undefined);
      req.on('end', () => resolve(1));
      req.on('error', reject);
      req.end(Buffer.alloc(12));
    });
  const out: Measured[] = [];
  try {
    await request();
    for (const concurrency of CONCURRENCY) {
      const r = await load(sec, concurrency, request);
      out.push({
        block: 'bare node:http2',
        concurrency,
        perRequest: 1,
        perSec: r.perSec,
        clientCpuMs: round(r.cpuMs / r.units),
      });
    }
  } finally {
    session.close();
    await new Promise((resolve) => server.close(resolve));
  }
  return out;
}

async function cassandraWrites(sec: number, runId: string): Promise<Measured[]> {
  const pid = (await describeEngines()).cassandra.pid;
  if (!pid) throw new Error('Cassandra is not running: npm run engines -- up');
  const client = await connectCassandra(endpoints.cassandra);
  const insert = 'INSERT INTO send_outcomes (key, outcome, done) VALUES (?, ?, false) USING TTL 60';
  const value = Buffer.alloc(200);
  let n = 0;
  const row = () => ({ query: insert, params: [`${runId}:${n++}`, value] });
  const out: Measured[] = [];
  try {
    for (const [concurrency, perRequest] of [
      [1, 1],
      [16, 1],
      [64, 1],
      [8, 16],
    ] as const) {
      const engine = new PidsCpu({ cassandra: pid });
      const r = await load(sec, concurrency, async () => {
        if (perRequest === 1) {
          const { query, params } = row();
          await client.execute(query, params);
        } else {
          await client.batch(Array.from({ length: perRequest }, row), { logged: false });
        }
        return perRequest;
      });
      const engineMs = (engine.sample().cassandra ?? 0) * r.seconds * 1000;
      out.push({
        block: perRequest === 1 ? 'Cassandra row write' : `Cassandra unlogged batch of ${perRequest}`,
        concurrency,
        perRequest,
        perSec: r.perSec,
        clientCpuMs: round(r.cpuMs / r.units),
        engineCpuMs: round(engineMs / r.units),
      });
    }
  } finally {
    await client.shutdown();
  }
  return out;
}

interface RoundTrip {
  placement: string;
  echoCore: number;
  senderCore: number;
  count: number;
  p50Us: number;
  p99Us: number;
}

/** The cores this process may run on, from Cpus_allowed_list ("0-1", "0,2-3"); every core if unknown. */
function allowedCores(): number[] {
  const m = machine();
  if (!m.cpusAllowed) return Array.from({ length: m.cores }, (_, i) => i);
  return m.cpusAllowed.split(',').flatMap((part) => {
    const [from = 0, to = from] = part.split('-').map(Number);
    return Array.from({ length: to - from + 1 }, (_, i) => from + i);
  });
}

/** Pins every thread of a process to one core. */
function pin(pid: number, core: number): void {
  try {
    execFileSync('taskset', ['--all-tasks', '--cpu-list', '--pid', String(core), String(pid)], { stdio: 'ignore' });
  } catch (cause) {
    throw new Error(`could not pin process ${pid} to core ${core} with taskset (util-linux)`, { cause });
  }
}

/** A 32-byte TCP round trip between two processes on 127.0.0.1, both on one core and on two, taken in turns. */
async function loopbackRoundTrips(ctx: Ctx, count: number): Promise<RoundTrip[]> {
  const [first = 0, second] = allowedCores();
  const placements = [{ placement: 'one core', echoCore: first, senderCore: first }];
  if (second !== undefined) placements.push({ placement: 'two cores', echoCore: first, senderCore: second });
  else ctx.log(`loopback round trip: only core ${first} is allowed here, so across two cores is not measured`);
  const echo = new Child<EchoPeerApi>('echo', 'bench/clients/echo-peer.ts', { onLine: ctx.onLine });
  const sender = new Child<EchoPeerApi>('sender', 'bench/clients/echo-peer.ts', { onLine: ctx.onLine });
  const histograms = placements.map(() => new Histogram());
  try {
    const port = await echo.call('listen', {});
    await sender.call('roundTrips', { port, count: 500, timeoutMs: 10_000 }); // warm-up, not counted
    for (let turn = 0; turn < ROUND_TRIP_TURNS; turn++) {
      for (const [i, { echoCore, senderCore }] of placements.entries()) {
        pin(echo.pid, echoCore);
        pin(sender.pid, senderCore);
        histograms[i]!.merge(await sender.call('roundTrips', { port, count, timeoutMs: 20_000 }));
      }
    }
  } finally {
    await stopAll([echo, sender]);
  }
  return placements.map((p, i) => {
    const s = histograms[i]!.summary();
    return { ...p, count: s.count, p50Us: round(s.p50 * 1000, 1), p99Us: round(s.p99 * 1000, 1) };
  });
}

export async function ceilings(ctx: Ctx) {
  const startedAt = new Date().toISOString();
  const { sec, roundTrips: roundTripCount } = SIZES[ctx.size];
  const results: Measured[] = [];
  const say = (m: Measured) =>
    ctx.log(
      `${m.block}, ${m.concurrency} in flight: ${m.perSec}/s, ${m.clientCpuMs} ms CPU here` +
        (m.engineCpuMs !== undefined ? ` + ${m.engineCpuMs} ms in Cassandra` : '') +
        ` per ${m.perRequest === 1 && !m.block.startsWith('Cassandra') ? 'call' : 'row'}`,
    );
  for (const step of [grpcCalls, bareHttp2, (seconds: number) => cassandraWrites(seconds, ctx.runId)]) {
    for (const m of await step(sec)) {
      results.push(m);
      say(m);
    }
  }

  const roundTrips = await loopbackRoundTrips(ctx, roundTripCount);
  for (const r of roundTrips)
    ctx.log(
      `loopback round trip, two processes on ${r.placement} (cores ${r.echoCore} and ${r.senderCore}): ` +
        `p50 ${r.p50Us} µs, p99 ${r.p99Us} µs over ${r.count}`,
    );

  const perCall = (block: string, c: number) => results.find((m) => m.block === block && m.concurrency === c);
  const grpc64 = perCall('gRPC unary (grpc-js)', 64);
  const stream64 = perCall('gRPC call on the call stream (lib/grpc.ts)', 64);
  const http64 = perCall('bare node:http2', 64);
  return writeResult(
    ctx.out,
    {
      scenario: 'ceilings',
      title: 'What a gRPC call and a Cassandra write cost on this machine',
      startedAt,
      command: ctx.command,
      size: ctx.size,
      mode: ['in-process'],
      load: {
        secondsPerMeasurement: sec,
        concurrency: CONCURRENCY,
        payloadBytes: { grpc: 8, cassandraRow: 200, roundTrip: 32 },
        roundTrips: { perTurn: roundTripCount, turnsPerPlacement: ROUND_TRIP_TURNS },
      },
      figures: {
        measurements: results,
        grpcOverBareHttp2At64: grpc64 && http64 ? round(grpc64.clientCpuMs / http64.clientCpuMs, 2) : null,
        callStreamOverUnaryAt64: grpc64 && stream64 ? round(stream64.clientCpuMs / grpc64.clientCpuMs, 2) : null,
        loopbackRoundTrips: roundTrips,
      },
      baselines: { bareHttp2: results.filter((m) => m.block === 'bare node:http2') },
      targets: [],
      notes: [
        'gRPC and http2: client and server in this one process, so the CPU per call is both sides of one call.',
        'Cassandra: the client is this process; the engine CPU is read from /proc for the Cassandra process ' +
          '(engines started by npm run engines -- up, C1-only JIT unless IM_ENGINES_JVM_FAST_START=0).',
        'A 1:1 cluster send makes one gRPC call per gateway holding a recipient or the sender (logic calls offline ' +
          'and push in-process, decision 0016), on the call stream (decision 0018), and writes 4 Cassandra rows (the ' +
          'outcome, its done mark, the inbox rows of recipient and sender); at the costs above, that bounds the ' +
          'messages per second 2 cores can carry.',
        'Loopback round trip: two processes (bench/clients/echo-peer.ts) pinned with taskset to one core, then to two, ' +
          'in turns; every other scenario pins nothing, so its hops pay one or the other as the scheduler places them.',
      ],
    },
    [
      {
        kind: 'bar',
        title: 'CPU per call or row, ms (client + server for gRPC/http2; client + engine for Cassandra)',
        yLabel: 'ms',
        groups: results.map((m) => ({
          label: `${m.block.replace('Cassandra unlogged batch of', 'Cass. batch').replace(' (lib/grpc.ts)', '')} x${m.concurrency}`,
          bars: [{ name: 'CPU ms', value: round(m.clientCpuMs + (m.engineCpuMs ?? 0)) }],
        })),
      },
      {
        kind: 'bar',
        title: 'Loopback TCP round trip between two processes, µs',
        yLabel: 'µs',
        groups: roundTrips.map((r) => ({
          label: r.placement,
          bars: [
            { name: 'p50', value: r.p50Us },
            { name: 'p99', value: r.p99Us },
          ],
        })),
      },
    ],
    ['in-process building blocks; the first chart adds the engine CPU to the client CPU for Cassandra'],
  );
}
