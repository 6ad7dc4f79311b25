// Scenario 3, 1:1 end-to-end latency under open-loop load: many sender/recipient pairs, a fixed total send rate
// (the k-th message is due at t0 + k/rate whatever the replies do), latency from the intended send time to the
// recipient's socket, p50/p95/p99/max per rate, stepping the rate up until saturation. Embedded and cluster mode,
// and a bare `ws` relay as the floor. Senders and recipients of a pair sit in different client processes.
import { cpus } from 'node:os';
import { Histogram, type Percentiles } from '../lib/histogram.ts';
import { hopMeans, scrapeHops } from '../lib/hops.ts';
import { CpuMeter, PidsCpu } from '../lib/machine.ts';
import { sleep, waitFor } from '../lib/progress.ts';
import { checkTarget, round, writeResult, type Target } from '../lib/result.ts';
import {
  enginePids,
  sourceAddresses,
  startBareServer,
  startBunServer,
  startBenchCluster,
  embeddedStores,
  startGatewayServer,
  startWorkers,
  stopAll,
  type Ctx,
  type Worker,
} from '../lib/fleet.ts';
import { PALETTE, type Chart } from '../lib/svg.ts';

const SIZES = {
  tiny: { pairs: 10, stepSec: 1, embedded: [50, 200], cluster: [10, 20] },
  default: {
    pairs: 200,
    stepSec: 4,
    embedded: [1_000, 2_500, 5_000, 7_500, 10_000],
    cluster: [25, 50, 100, 200, 400, 800, 2_000],
  },
  large: {
    pairs: 1_000,
    stepSec: 10,
    embedded: [1_000, 2_500, 5_000, 7_500, 10_000, 15_000, 20_000],
    cluster: [25, 50, 100, 200, 400, 800, 1_600],
  },
};
const SATURATED_P99_MS = 1_000;
const DRAIN_MS = 5_000;
const WARM_UP_MS = 6_000;

export interface RateStep extends Percentiles {
  offered: number;
  sent: number;
  delivered: number;
  deliveredShare: number;
  achievedPerSec: number;
  sendErrors: Record<string, number>;
  clientMaxLateMs: number;
  machineCpu: number;
  serverCpu: number | null;
  saturated: string | null;
  /** Mean time per hop of the message path during the step (lib/metrics.ts), from every process's /metrics. */
  hops: Record<string, { count: number; meanMs: number }>;
  /** The server's event-loop delay during the step (one-process systems): how long ready work waited. */
  serverLoopDelayMs?: { p50: number; p99: number; max: number };
  /** Cluster: cores each service and engine process used during the step (send and drain). */
  processCores?: Record<string, number>;
  /** Cluster: CPU time of all those processes per delivered message, in ms, and the top users' share of it. */
  cpuMsPerMessage?: Record<string, number>;
}

interface System {
  name: string;
  urls: string[];
  /** GET /metrics of every process of the system (none for the naive relays). */
  metricsUrls: string[];
  cpu?: () => Promise<number>;
  /** The server's event-loop delay since the last call (embedded and bare ws: one process). */
  loopDelay?: () => Promise<{ p50: number; p99: number; max: number }>;
  /** Pids of every process of the system, engines included, for per-process CPU (cluster). */
  pids?: () => Promise<Record<string, number>>;
  stop(): Promise<void>;
}

let stepIds = 0;

const sum = (values: Record<string, number>) => Object.values(values).reduce((a, b) => a + b, 0);

async function ramp(ctx: Ctx, sys: System, workers: Worker[], pairs: number, rates: number[], stepSec: number) {
  const W = workers.length;
  const per = Math.ceil(pairs / W);
  const slice = (w: number) =>
    Array.from({ length: Math.max(0, Math.min(per, pairs - w * per)) }, (_, j) => w * per + j);
  // Worker w sends for pairs of slice w; their recipients live on worker w+1.
  const firsts = await Promise.all(
    workers.map(async (worker, w) => {
      const common = {
        urls: sys.urls,
        device: 'd',
        localAddresses: sourceAddresses(w, 2 * per),
        concurrency: 100,
        auth: ctx.auth,
        timeoutMs: 60_000,
        pingMs: 10_000,
      };
      const s = await worker.call('open', { ...common, users: slice(w).map((i) => `${ctx.runId}s${i}`) }, 90_000);
      const prev = (w + W - 1) % W;
      const r = await worker.call('open', { ...common, users: slice(prev).map((i) => `${ctx.runId}r${i}`) }, 90_000);
      if (s.failed || r.failed)
        throw new Error(
          `${sys.name}: ${s.failed + r.failed} connections failed: ${JSON.stringify({ ...s.errors, ...r.errors })}`,
        );
      return s.first;
    }),
  );
  ctx.log(`${sys.name}: ${pairs} pairs connected (${2 * pairs} sockets on ${W} client processes)`);
  await sleep(500);
  const sendStep = (step: number, rate: number, durationMs: number) =>
    Promise.all(
      workers.map((worker, w) => {
        const mine = slice(w);
        return worker.call(
          'sendLoad',
          {
            rate: (rate * mine.length) / pairs,
            durationMs,
            step,
            pairs: mine.map((i, j) => ({ from: firsts[w]! + j, to: `${ctx.runId}r${i}` })),
          },
          durationMs + 30_000,
        );
      }),
    );
  const deliveredOf = async (step: number) =>
    (await Promise.all(workers.map((w) => w.call('delivered', { step })))).reduce((a, b) => a + b, 0);
  // Warm-up, not recorded: every pair once or more, at the first step's rate for WARM_UP_MS, until all of it is
  // delivered (JIT tiers settling, consumer groups joining, routes registered), at most 60 s. Two seconds at half
  // the rate left the first recorded step with a backlog stall the later steps did not have.
  {
    const step = ++stepIds;
    const t0 = performance.now();
    const sent = (await sendStep(step, Math.max(pairs / 2, rates[0]!), WARM_UP_MS)).reduce((a, s) => a + s.sent, 0);
    const ok = await waitFor(async () => (await deliveredOf(step)) >= sent, 60_000, 100);
    ctx.log(
      `${sys.name}: warm-up of ${sent} messages ${ok ? 'delivered' : 'NOT all delivered'} after ` +
        `${Math.round(performance.now() - t0)} ms`,
    );
  }
  const steps: RateStep[] = [];
  for (const rate of rates) {
    const step = ++stepIds;
    await Promise.all(workers.map((w) => w.call('resetLatency', {})));
    const meter = new CpuMeter();
    const processMeter = sys.pids ? new PidsCpu(await sys.pids()) : undefined;
    const stepStart = performance.now();
    await sys.cpu?.();
    await sys.loopDelay?.();
    const hopsBefore = await scrapeHops(sys.metricsUrls);
    const sent = await sendStep(step, rate, stepSec * 1000);
    const totalSent = sent.reduce((a, s) => a + s.sent, 0);
    let delivered = 0;
    await waitFor(async () => (delivered = await deliveredOf(step)) >= totalSent, DRAIN_MS, 50);
    const machineCpu = meter.sample();
    const processCores = processMeter?.sample();
    const stepSeconds = (performance.now() - stepStart) / 1000;
    const serverCpu = sys.cpu ? await sys.cpu() : null;
    const serverLoopDelayMs = sys.loopDelay ? await sys.loopDelay() : undefined;
    const hops = hopMeans(hopsBefore, await scrapeHops(sys.metricsUrls));
    const hist = new Histogram();
    for (const l of await Promise.all(workers.map((w) => w.call('latency', { step })))) hist.merge(l.hist);
    const stats = await Promise.all(workers.map((w) => w.call('stats', {})));
    const sendErrors: Record<string, number> = {};
    for (const s of stats) for (const [k, v] of Object.entries(s.sendErrors)) sendErrors[k] = (sendErrors[k] ?? 0) + v;
    const summary = hist.summary();
    const clientMaxLateMs = round(Math.max(...sent.map((s) => s.maxLateMs)), 1);
    const share = totalSent ? delivered / totalSent : 0;
    const saturated =
      share < 0.99
        ? `only ${(share * 100).toFixed(1)}% delivered within ${DRAIN_MS} ms after the step`
        : summary.p99 > SATURATED_P99_MS
          ? `p99 ${summary.p99} ms > ${SATURATED_P99_MS} ms`
          : clientMaxLateMs > 200
            ? `the client processes fell ${clientMaxLateMs} ms behind their send schedule (client-bound)`
            : null;
    const r: RateStep = {
      offered: rate,
      sent: totalSent,
      delivered,
      deliveredShare: round(share, 4),
      achievedPerSec: Math.round(delivered / stepSec),
      ...summary,
      sendErrors,
      clientMaxLateMs,
      machineCpu,
      serverCpu,
      saturated,
      hops,
      ...(serverLoopDelayMs ? { serverLoopDelayMs } : {}),
      ...(processCores && delivered > 0
        ? {
            processCores,
            cpuMsPerMessage: Object.fromEntries(
              Object.entries(processCores).map(([n, cores]) => [n, round((cores * stepSeconds * 1000) / delivered, 2)]),
            ),
          }
        : {}),
    };
    steps.push(r);
    ctx.log(
      `${sys.name} ${rate} msg/s: sent ${totalSent}, delivered ${delivered}, p50 ${r.p50} p95 ${r.p95} p99 ${r.p99} ` +
        `max ${r.max} ms, CPU machine ${Math.round(machineCpu * 100)}%` +
        (serverCpu !== null ? ` server ${Math.round(serverCpu * 100)}% of a core` : '') +
        (serverLoopDelayMs ? `, loop delay p99 ${serverLoopDelayMs.p99} max ${serverLoopDelayMs.max} ms` : '') +
        (r.cpuMsPerMessage ? `, ${round(sum(r.cpuMsPerMessage), 1)} ms CPU per message` : '') +
        (saturated ? ` - saturated: ${saturated}` : ''),
    );
    if (saturated) break;
  }
  await Promise.all(workers.map((w) => w.call('closeAll', { timeoutMs: 10_000 })));
  await Promise.all(workers.map((w) => w.call('forget', {})));
  return steps;
}

export async function latency(ctx: Ctx) {
  const startedAt = new Date().toISOString();
  const size = SIZES[ctx.size];
  const pairs = ctx.flags.pairs ?? size.pairs;
  const stepSec = ctx.flags.stepSec ?? size.stepSec;
  const mode = ctx.flags.mode ?? 'both';
  const workerCount = Math.max(2, ctx.flags.workers ?? Math.ceil((2 * pairs) / 12_000));
  const embeddedRates = ctx.flags.rates ?? size.embedded;
  const clusterRates = ctx.flags.rates ?? size.cluster;
  ctx.log(
    `latency: ${pairs} pairs on ${workerCount} client processes, ${stepSec} s per rate, open loop; ` +
      `embedded ${embeddedRates.join('/')} msg/s, cluster ${clusterRates.join('/')} msg/s, until saturation`,
  );
  const workers = startWorkers(ctx, workerCount);
  const results: Record<string, RateStep[]> = {};
  let bun: { available: true; version: string } | { available: false; reason: string } = {
    available: false,
    reason: 'embedded mode not run',
  };
  const clusterInfo: Record<string, unknown> = {};
  try {
    if (mode !== 'cluster') {
      for (const { name, env, remove } of embeddedStores()) {
        const gw = await startGatewayServer(ctx, env);
        results[name] = await ramp(
          ctx,
          {
            name,
            urls: [gw.url],
            metricsUrls: [`${gw.url.replace(/^ws/, 'http')}/metrics`],
            cpu: () => gw.child.call('cpu', {}),
            loopDelay: () => gw.child.call('loopDelay', {}),
            stop: () => gw.child.stop(),
          },
          workers,
          pairs,
          embeddedRates,
          stepSec,
        ).finally(async () => {
          await gw.child.stop();
          remove();
        });
      }
      // A naive relay (bench/servers/relay.ts) in one process of its own, stopped once its ramp ends.
      const relay = (sys: Omit<System, 'metricsUrls'>) =>
        ramp(ctx, { ...sys, metricsUrls: [] }, workers, pairs, embeddedRates, stepSec).finally(() => sys.stop());
      const bare = await startBareServer(ctx);
      results['bare ws'] = await relay({
        name: 'bare ws',
        urls: [bare.url],
        cpu: () => bare.child.call('cpu', {}),
        loopDelay: () => bare.child.call('loopDelay', {}),
        stop: () => bare.child.stop(),
      });
      // The ceiling: the same naive relay on Bun's server (uWebSockets), where the bun binary runs.
      const started = await startBunServer(ctx);
      bun = started.available ? { available: true, version: started.version } : started;
      if (started.available) {
        results.bun = await relay({
          name: 'bun',
          urls: [started.url],
          cpu: () => started.child.call('cpu', {}),
          loopDelay: () => started.child.call('loopDelay', {}),
          stop: () => started.child.stop(),
        });
      }
    }
    if (mode !== 'embedded') {
      const t0 = performance.now();
      const cluster = await startBenchCluster(ctx);
      const startSec = round((performance.now() - t0) / 1000, 1);
      clusterInfo.startSec = startSec;
      clusterInfo.processes = cluster.names();
      ctx.log(`cluster: ${cluster.names().join(', ')} up in ${startSec} s`);
      try {
        // Once: describing the engines probes each of them, which does not belong before every step.
        const engines = await enginePids();
        results.cluster = await ramp(
          ctx,
          {
            name: 'cluster',
            urls: cluster.gateways.map((g) => g.url),
            metricsUrls: cluster.metricsUrls(),
            pids: () => Promise.resolve({ ...cluster.pids(), ...engines }),
            stop: () => cluster.close(),
          },
          workers,
          pairs,
          clusterRates,
          stepSec,
        );
      } finally {
        await cluster.close();
      }
    }
  } finally {
    await stopAll(workers);
  }

  const at = (name: string, rate: number) => results[name]?.find((s) => s.offered === rate);
  const last = (name: string) => results[name]?.filter((s) => !s.saturated).at(-1);
  const at10k = at('embedded', 10_000);
  const targets: Target[] = [];
  if (results.embedded) {
    const lastOk = last('embedded');
    targets.push(
      checkTarget(
        '1:1 embedded p99 at 10,000 msg/s',
        at10k && !at10k.saturated ? at10k.p99 : null,
        '<',
        10,
        'ms',
        at10k
          ? `CPU: the machine was ${Math.round(at10k.machineCpu * 100)}% busy (2 cores shared by the server and the ` +
              `client processes); the server process used ${Math.round((at10k.serverCpu ?? 0) * 100)}% of one core ` +
              '(one JS thread does gateway, bus, logic, offline, push)'
          : undefined,
      ),
    );
    const t = targets.at(-1)!;
    if (!at10k || at10k.saturated) {
      const satAt = results.embedded.find((x) => x.saturated);
      const stoppedBefore = !at10k && satAt !== undefined && satAt.offered < 10_000;
      t.by = at10k
        ? `10,000 msg/s saturated (${at10k.saturated}); p99 there ${at10k.p99} ms`
        : stoppedBefore
          ? `saturated at ${satAt.offered} msg/s (${satAt.saturated}), below 10,000 msg/s`
          : `10,000 msg/s not offered (rates ${embeddedRates.join(', ')})`;
      if (lastOk) t.by += `; highest unsaturated rate ${lastOk.offered} msg/s, p99 ${lastOk.p99} ms`;
      t.met = at10k || stoppedBefore ? false : null;
      t.limitedBy ??=
        'CPU: one JS thread runs gateway, bus, logic, offline and push, on 2 cores shared with the client processes';
    }
    // What a relay with nothing behind it does at 10,000 msg/s here, on Node and on Bun: the ceiling for the target.
    const relays = ['bare ws', 'bun'].flatMap((name) => {
      const step = at(name, 10_000);
      if (!step) return [];
      return [`${name} relay ${step.saturated ? `saturated (${step.saturated})` : `p99 ${step.p99} ms`}`];
    });
    if (relays.length > 0) t.limitedBy = `${t.limitedBy ?? ''}; at 10,000 msg/s in this run: ${relays.join(', ')}`;
  }
  const onDisk = at('embedded, disk', 2_500);
  if (results['embedded, disk']) {
    const inMemory = at('embedded', 2_500);
    const t = checkTarget(
      '1:1 embedded on disk p99 at 2,500 msg/s',
      onDisk && !onDisk.saturated ? onDisk.p99 : null,
      '<=',
      10,
      'ms',
      inMemory ? `in memory in the same run: p99 ${inMemory.p99} ms` : undefined,
    );
    if (!onDisk) t.by = `2,500 msg/s not offered (rates ${embeddedRates.join(', ')})`;
    targets.push(t);
  }
  if (results.cluster) targets.push(...clusterTargets(results.cluster, clusterRates));
  const colorOf: Record<string, string> = {
    embedded: PALETTE[0]!,
    'embedded, disk': PALETTE[1]!,
    cluster: PALETTE[2]!,
    'bare ws': PALETTE[7]!,
    bun: PALETTE[4]!,
  };
  const seriesOf = (name: string, key: 'p50' | 'p99') => ({
    name: `${name} ${key}`,
    points: (results[name] ?? []).map((s) => [s.offered, s[key]] as [number, number]),
    dashed: key === 'p50',
    color: colorOf[name]!,
  });
  const charts: Chart[] = [
    {
      kind: 'line',
      title: '1:1 latency, send to delivery (open loop)',
      xLabel: 'offered load, messages per second',
      yLabel: 'ms (log)',
      logY: true,
      series: Object.keys(results).flatMap((n) => [seriesOf(n, 'p99'), seriesOf(n, 'p50')]),
      hLine: { y: 10, label: 'target p99 10 ms' },
    },
    {
      kind: 'line',
      title: 'Delivered vs offered',
      xLabel: 'offered load, messages per second',
      yLabel: 'delivered per second',
      series: Object.entries(results).map(([n, steps]) => ({
        name: n,
        points: steps.map((s) => [s.offered, s.achievedPerSec] as [number, number]),
        color: colorOf[n]!,
      })),
    },
  ];
  // Where the time goes at the lowest rate of each mode: mean ms per hop (hops overlap: logic.* run inside
  // bus.to_logic's consumer, offline.* inside logic.seq and logic.inbox, push.* inside logic.deliver).
  const hopModes = Object.entries(results).filter(([, steps]) => Object.keys(steps[0]?.hops ?? {}).length > 0);
  const hopNames = [...new Set(hopModes.flatMap(([, steps]) => Object.keys(steps[0]!.hops)))].sort();
  if (hopModes.length > 0) {
    charts.push({
      kind: 'bar',
      title: `Per-hop breakdown at the lowest rate (mean ms per message)`,
      yLabel: 'ms',
      groups: hopNames.map((hop) => ({
        label: hop,
        bars: hopModes.map(([n, steps]) => ({
          name: `${n} @${steps[0]!.offered}/s`,
          value: steps[0]!.hops[hop]?.meanMs ?? 0,
        })),
      })),
    });
  }
  const costed = (results.cluster ?? []).filter((step) => step.cpuMsPerMessage);
  if (costed.length > 0) {
    const names = Object.keys(costed[0]!.cpuMsPerMessage!).sort(
      (a, b) => costed[0]!.cpuMsPerMessage![b]! - costed[0]!.cpuMsPerMessage![a]!,
    );
    charts.push({
      kind: 'bar',
      title: 'Cluster: where the CPU goes (ms of CPU per delivered message, by process)',
      yLabel: 'ms',
      groups: names.map((n) => ({
        label: n,
        bars: costed.map((step) => ({ name: `@${step.offered}/s`, value: step.cpuMsPerMessage![n] ?? 0 })),
      })),
    });
  }
  const saturation = Object.fromEntries(
    Object.entries(results).map(([n, steps]) => [
      n,
      { highestUnsaturated: last(n)?.offered ?? null, saturatedAt: steps.find((s) => s.saturated)?.offered ?? null },
    ]),
  );
  return writeResult(
    ctx.out,
    {
      scenario: 'latency',
      title: `1:1 end-to-end latency, ${pairs} pairs`,
      startedAt,
      command: ctx.command,
      size: ctx.size,
      mode: Object.keys(results).filter((n) => n !== 'bare ws' && n !== 'bun'),
      load: {
        pairs,
        stepSec,
        ratesOffered: { embedded: embeddedRates, cluster: clusterRates },
        openLoop: true,
        clientProcesses: workerCount,
        gatewayProcesses: { embedded: 1, cluster: 2 },
        bodyBytes: 16,
        saturationRule: `delivered < 99% within ${DRAIN_MS} ms after the step, or p99 > ${SATURATED_P99_MS} ms, or the clients fell > 200 ms behind schedule`,
      },
      figures: { steps: results, saturation, cluster: clusterInfo },
      baselines: {
        bareWs: {
          description:
            'bare ws relay: decodes the send, appends it to an in-memory array, encodes a Deliver to the ' +
            "recipient's socket and a SendResult to the sender (no bus, no dedupe, no durability)",
          steps: results['bare ws'] ?? null,
        },
        bun: bun.available
          ? {
              ...bun,
              description:
                "the same naive relay (bench/servers/relay.ts) on Bun's built-in server (uWebSockets inside): the " +
                'ceiling for a user-space server on this machine',
              steps: results.bun ?? null,
            }
          : bun,
      },
      targets,
      notes: [
        'Latency is measured from the time each message was due by the schedule (not when the client got to send ' +
          'it), to its arrival at the recipient socket, on one clock (same machine).',
        'Cluster mode: 2 gateways and offline/sync/logic/push processes on Kafka, Redis and Cassandra on this same ' +
          'machine; each client connects to the gateway its user/device hashes to, so most pairs cross gateways.',
        'Per-hop breakdown (steps.<mode>[i].hops): mean ms per hop from every process /metrics. gateway.publish: ' +
          'frame read to Kafka ack; bus.to_logic: frame read to logic picking the record up (publish + Kafka); ' +
          'logic.*: the steps of one send in order (dedupe, resolve, seq, outcome, inbox; then done and deliver side ' +
          'by side, the answer to the sender riding with the deliveries); offline.* and push.* are the parts of logic.seq, logic.inbox and logic.deliver spent in those ' +
          'services (the rest is gRPC).',
      ],
    },
    charts,
    [`${pairs} pairs, ${stepSec} s per step; solid p99, dashed p50; bare ws: a naive relay`],
  );
}

const CLUSTER_RATE = 2_000;

/**
 * The cluster targets (p50 <= 15 ms and p99 <= 100 ms at 2,000 msg/s). Below that rate, what limits it is said
 * from the step's CPU per message: at that cost, 2,000 msg/s needs this many cores (the machine has os.cpus()).
 */
function clusterTargets(steps: RateStep[], rates: number[]): Target[] {
  const at = steps.find((s) => s.offered === CLUSTER_RATE && !s.saturated);
  const lastOk = steps.filter((s) => !s.saturated).at(-1);
  const satAt = steps.find((s) => s.saturated);
  const costly = satAt ?? lastOk;
  const perMessage = costly?.cpuMsPerMessage;
  const limitedBy = perMessage
    ? `CPU: at ${costly.offered} msg/s every message cost ${round(sum(perMessage), 1)} ms of CPU across the ` +
      `processes (${Object.entries(perMessage)
        .sort((a, b) => b[1] - a[1])
        .slice(0, 5)
        .map(([n, ms]) => `${n} ${ms}`)
        .join(
          ', ',
        )} ms), so ${CLUSTER_RATE} msg/s would need about ${Math.ceil((sum(perMessage) * CLUSTER_RATE) / 1000)} ` +
      `cores; this machine has ${cpus().length}, shared by 6 service processes, Kafka, Cassandra, Redis and the clients`
    : undefined;
  return (
    [
      ['p50', 15],
      ['p99', 100],
    ] as const
  ).map(([key, limit]) => {
    const t = checkTarget(
      `1:1 cluster ${key} at ${CLUSTER_RATE} msg/s`,
      at ? at[key] : null,
      '<=',
      limit,
      'ms',
      limitedBy,
    );
    if (!at) {
      const below = satAt !== undefined && satAt.offered < CLUSTER_RATE;
      t.met = below ? false : null;
      t.by = below
        ? `saturated at ${satAt.offered} msg/s (${satAt.saturated}), below ${CLUSTER_RATE} msg/s` +
          (lastOk ? `; highest unsaturated rate ${lastOk.offered} msg/s, ${key} ${lastOk[key]} ms` : '')
        : `${CLUSTER_RATE} msg/s not offered (rates ${rates.join(', ')})`;
    }
    return t;
  });
}
