// Scenario 1, idle connections: step connections up on one gateway process with heartbeats on; gateway RSS and
// heap per connection (after a full GC), connect rate, and how many gateway processes hold 100,000 here. The
// same steps against a bare `ws` server (token check + pong) in the same run.
import { readdirSync } from 'node:fs';
import os from 'node:os';
import { Histogram } from '../lib/histogram.ts';
import { openFilesLimit } from '../lib/machine.ts';
import { mib, sleep } from '../lib/progress.ts';
import { checkTarget, round, writeResult, type Target } from '../lib/result.ts';
import {
  openSpread,
  SOCKETS_PER_ADDRESS,
  SOCKETS_PER_WORKER,
  startBareServer,
  startBareSocketServer,
  startBunServer,
  startGatewayServer,
  startWorkers,
  stopAll,
  type Ctx,
  type Worker,
} from '../lib/fleet.ts';
import type { Chart } from '../lib/svg.ts';
import { idleSpread, SPREAD_HEARTBEAT_MS, type Spread } from './idle-spread.ts';

const SIZES = {
  tiny: { max: 200, steps: 2, spread: 300, spreadHeartbeatMs: 2_000, pings: 300 },
  // 3,000 ping round trips per server at 100/s keep the median of the paired differences steady to a few µs.
  default: { max: 10_000, steps: 4, spread: 100_000, spreadHeartbeatMs: SPREAD_HEARTBEAT_MS, pings: 3_000 },
  large: { max: 19_000, steps: 5, spread: 100_000, spreadHeartbeatMs: SPREAD_HEARTBEAT_MS, pings: 3_000 },
};
const HEARTBEAT_MS = 5_000;

interface Base {
  rssMiB: number;
  heapUsedMiB: number;
  openFiles: number;
}

interface Step {
  connections: number;
  rssMiB: number;
  heapUsedMiB: number;
  rssPerConnB: number;
  heapPerConnB: number;
  connectPerSec: number;
  failed: number;
  serverCpu: number;
}

interface Memory {
  rss: number;
  heapUsed: number;
  connections: number;
  cpu: number;
}

interface Server {
  memory(): Promise<Memory>;
  url: string;
  pid: number;
}

/** Opens connections step by step; after each step, the server's memory per connection since 0 connections. */
async function openSteps(ctx: Ctx, label: string, server: Server, workers: Worker[], plan: number[], prefix: string) {
  const base = await server.memory();
  const atStart = await Promise.all(workers.map((w) => w.call('stats', {})));
  const fds0 = fdCount(server.pid);
  ctx.log(`${label}: ${mib(base.rss)} MiB RSS, ${mib(base.heapUsed)} MiB heap at 0 connections, ${fds0} open files`);
  const steps: Step[] = [];
  let have = 0;
  let firstSocket = -1;
  const errors: Record<string, number> = {};
  for (const target of plan) {
    const users = Array.from({ length: target - have }, (_, i) => `${prefix}${have + i}`);
    const opened = await openSpread(ctx, workers, users, {
      urls: [server.url],
      device: 'd',
      concurrency: 100,
      timeoutMs: 120_000,
      pingMs: HEARTBEAT_MS,
      already: have,
    });
    for (const [k, v] of Object.entries(opened.errors)) errors[k] = (errors[k] ?? 0) + v;
    if (firstSocket < 0) firstSocket = opened.slices[0]!.first;
    have = target;
    await sleep(1_000);
    const m = await server.memory();
    const n = Math.max(1, m.connections);
    const step: Step = {
      connections: m.connections,
      rssMiB: mib(m.rss),
      heapUsedMiB: mib(m.heapUsed),
      rssPerConnB: Math.round((m.rss - base.rss) / n),
      heapPerConnB: Math.round((m.heapUsed - base.heapUsed) / n),
      connectPerSec: Math.round(users.length / (opened.ms / 1000)),
      failed: opened.failed,
      serverCpu: m.cpu,
    };
    steps.push(step);
    ctx.log(
      `${label}: ${m.connections}/${target} connections (${opened.failed} failed), +${step.connectPerSec}/s, ` +
        `RSS ${step.rssMiB} MiB (${step.rssPerConnB} B/conn), heap ${step.heapUsedMiB} MiB (${step.heapPerConnB} B/conn)`,
    );
  }
  return {
    base: { rssMiB: mib(base.rss), heapUsedMiB: mib(base.heapUsed), openFiles: fds0 } satisfies Base,
    steps,
    slope: {
      rssPerConnB: Math.round(slope(steps.map((s) => [s.connections, s.rssMiB * 2 ** 20]))),
      heapPerConnB: Math.round(slope(steps.map((s) => [s.connections, s.heapUsedMiB * 2 ** 20]))),
    },
    atStart,
    firstSocket,
    errors,
  };
}

/** Memory steps only, on a server started for them: its connections are closed and the server stopped after. */
async function memorySteps(
  ctx: Ctx,
  label: string,
  server: Server & { child: { stop(): Promise<void> } },
  workers: Worker[],
  plan: number[],
  prefix: string,
) {
  try {
    const { base, steps, slope: perConnSlope } = await openSteps(ctx, label, server, workers, plan, prefix);
    await closeAll(workers);
    return { base, steps, slope: perConnSlope };
  } finally {
    await server.child.stop();
  }
}

async function closeAll(workers: Worker[]) {
  await Promise.all(workers.map((w) => w.call('closeAll', { timeoutMs: 10_000 })));
  await Promise.all(workers.map((w) => w.call('forget', {})));
}

/** The steps, then a hold with heartbeats; the connections stay open (the ping round trips come next). */
async function stepUp(
  ctx: Ctx,
  label: string,
  server: Server,
  workers: Worker[],
  plan: number[],
  prefix: string,
  holdMs = HEARTBEAT_MS + 1_500,
) {
  const {
    base,
    steps,
    slope: perConnSlope,
    atStart,
    firstSocket,
    errors,
  } = await openSteps(ctx, label, server, workers, plan, prefix);
  // Hold through more than one heartbeat interval (the gateway: or a soak of --hold-sec): every client pings,
  // nobody is cut off for silence.
  // Only this server's sockets count as open: a worker may still hold an earlier server's.
  const stats = () => Promise.all(workers.map((w, i) => w.call('stats', { from: atStart[i]!.total })));
  const before = await stats();
  for (let waited = 0; waited < holdMs; waited += 60_000) {
    await sleep(Math.min(60_000, holdMs - waited));
    if (holdMs > 60_000) {
      const open = (await stats()).reduce((a, s) => a + s.open, 0);
      ctx.log(`${label}: holding, ${Math.round(Math.min(holdMs, waited + 60_000) / 1000)} s: ${open} open`);
    }
  }
  const after = await stats();
  const held = await server.memory();
  const pongs = after.reduce((a, s) => a + s.pongs, 0) - before.reduce((a, s) => a + s.pongs, 0);
  const stillOpen = after.reduce((a, s) => a + s.open, 0);
  // What the clients opened (every handshake answered), whether or not the server still holds it.
  const opened = plan.at(-1)! - steps.reduce((a, st) => a + st.failed, 0);
  ctx.log(`${label}: held ${holdMs} ms: ${stillOpen} open, ${pongs} pongs, RSS ${mib(held.rss)} MiB`);
  const fds = fdCount(server.pid);
  return {
    base,
    steps,
    slope: perConnSlope,
    heartbeatHold: {
      ms: holdMs,
      opened,
      stillOpen,
      dropped: opened - stillOpen,
      pongs,
      rssMiB: mib(held.rss),
      // Close codes the clients saw since this server's first connect (4000 heartbeat timeout, 4008 slow consumer).
      closeCodes: Object.fromEntries(
        [...new Set(after.flatMap((s) => Object.keys(s.closes)))]
          .map((code): [string, number] => [
            code,
            after.reduce((a, s, w) => a + (s.closes[code] ?? 0) - (atStart[w]!.closes[code] ?? 0), 0),
          ])
          .filter(([, n]) => n !== 0),
      ),
    },
    firstSocket,
    openFilesAtMax: fds,
    errors,
  };
}

export async function idle(ctx: Ctx) {
  const startedAt = new Date().toISOString();
  const size = SIZES[ctx.size];
  const max = ctx.flags.connections ?? size.max;
  const plan = Array.from({ length: size.steps }, (_, i) => Math.round((max * (i + 1)) / size.steps));
  const workerCount = Math.max(2, ctx.flags.workers ?? Math.ceil(max / SOCKETS_PER_WORKER));
  ctx.log(
    `idle: up to ${max} connections in steps ${plan.join(', ')} on one gateway process, ${workerCount} client ` +
      `processes, heartbeats every ${HEARTBEAT_MS} ms (timeout ${HEARTBEAT_MS * 3} ms)`,
  );
  const env = {
    IM_HEARTBEAT_INTERVAL_MS: String(HEARTBEAT_MS),
    IM_HEARTBEAT_TIMEOUT_MS: String(HEARTBEAT_MS * 3),
  };
  const gw = await startGatewayServer(ctx, env);
  const workers = startWorkers(ctx, workerCount);
  let ours;
  let bare;
  let floor;
  let bun:
    | { available: false; reason: string }
    | {
        available: true;
        version: string;
        base: Base;
        steps: Step[];
        slope: { rssPerConnB: number; heapPerConnB: number };
      };
  let ping;
  try {
    ours = await stepUp(
      ctx,
      'gateway',
      { memory: () => gw.child.call('memory', { gc: true }), url: gw.url, pid: gw.pid },
      workers,
      plan,
      `${ctx.runId}i`,
      Math.max(HEARTBEAT_MS + 1_500, (ctx.flags.holdSec ?? 0) * 1000),
    );
    // The gateway keeps its connections while bare ws steps up beside it, so the two ping round trips can be
    // taken in turns, each with its own idle connections held (one at a time, runs moved by more than the gap).
    const b = await startBareServer(ctx);
    try {
      bare = await stepUp(
        ctx,
        'bare ws',
        { memory: () => b.child.call('memory', { gc: true }), url: b.url, pid: b.pid },
        workers,
        plan,
        `${ctx.runId}j`,
      );
      const rtt = await workers[0]!.call(
        'rtt',
        { socks: [ours.firstSocket, bare.firstSocket], count: size.pings, perSec: 100, timeoutMs: 90_000 },
        120_000,
      );
      const [gatewayRtt, bareRtt] = rtt.hists.map((h) => Histogram.from(h).summary());
      ping = {
        gateway: gatewayRtt!,
        bareWs: bareRtt!,
        p50DifferenceUs: round((gatewayRtt!.p50 - bareRtt!.p50) * 1000, 1),
        // Each round's two round trips were taken a moment apart, so their difference is free of the VM's drift.
        medianPairedDifferenceUs: median(rtt.roundsUs.map(([g, b]) => g! - b!)),
      };
      ctx.log(
        `ping round trip on one socket, in turns: gateway p50 ${ping.gateway.p50} ms (p99 ${ping.gateway.p99}), ` +
          `bare ws p50 ${ping.bareWs.p50} ms (p99 ${ping.bareWs.p99}); median of the paired differences ` +
          `+${ping.medianPairedDifferenceUs} us`,
      );
      await closeAll(workers);
    } finally {
      await Promise.all([b.child.stop(), gw.child.stop()]);
    }
    const started = await startBunServer(ctx);
    if (started.available) {
      const server = { ...started, memory: () => started.child.call('memory', { gc: true }) };
      const steps = await memorySteps(ctx, `bun ${started.version}`, server, workers, plan, `${ctx.runId}b`);
      bun = { available: true, version: started.version, ...steps };
    } else bun = started;
    const f = await startBareSocketServer(ctx);
    const floorServer = { ...f, memory: () => f.child.call('memory', { gc: true }) };
    floor = await memorySteps(ctx, 'node socket floor', floorServer, workers, plan, `${ctx.runId}k`);
  } finally {
    await stopAll([...workers, gw.child]);
  }

  const spreadTotal = ctx.flags.spread ?? size.spread;
  const spread: Spread | null = spreadTotal > 0 ? await idleSpread(ctx, spreadTotal, size.spreadHeartbeatMs) : null;

  const last = ours.steps.at(-1)!;
  const limit = openFilesLimit();
  const hard = limit.hard ?? 20_000;
  // One gateway process holds as many connections as it has open files left: the hard limit less its own files.
  const perProcess = hard - ours.base.openFiles - 100;
  const gatewaysFor100k = Math.ceil(100_000 / perProcess);
  const rssFor100kGiB = round((gatewaysFor100k * ours.base.rssMiB * 2 ** 20 + 100_000 * last.rssPerConnB) / 2 ** 30, 2);
  const figures = {
    gateway: ours,
    bareWs: bare,
    nodeSocketFloor: floor,
    bun: bun.available ? { version: bun.version, base: bun.base, steps: bun.steps, slope: bun.slope } : null,
    ping,
    rssPerConnB: last.rssPerConnB,
    heapPerConnB: last.heapPerConnB,
    connectPerSec: Math.round(ours.steps.reduce((a, s) => a + s.connectPerSec, 0) / ours.steps.length),
    vsBareWs: {
      rssPerConnRatio: round(last.rssPerConnB / Math.max(1, bare.steps.at(-1)!.rssPerConnB), 2),
      heapPerConnRatio: round(last.heapPerConnB / Math.max(1, bare.steps.at(-1)!.heapPerConnB), 2),
    },
    spread,
    hundredThousand: {
      connectionsPerGatewayProcess: perProcess,
      gatewayProcesses: gatewaysFor100k,
      estimatedGatewayRssGiB: rssFor100kGiB,
      clientProcesses: Math.ceil(100_000 / SOCKETS_PER_WORKER),
      sourceAddresses: Math.ceil(100_000 / SOCKETS_PER_ADDRESS),
      reasoning:
        `open files, not memory, bound a process here: hard limit ${hard} less the gateway's own ` +
        `${ours.base.openFiles} files and a margin of 100 leaves ${perProcess} connections per gateway process, so ` +
        `100,000 take ${gatewaysFor100k} gateway processes (~${rssFor100kGiB} GiB RSS at ${last.rssPerConnB} B/conn ` +
        `+ ${ours.base.rssMiB} MiB each, of ${Math.round(os.totalmem() / 2 ** 30)} GiB), and on the client side ` +
        `${Math.ceil(100_000 / SOCKETS_PER_WORKER)} client processes on ${Math.ceil(100_000 / SOCKETS_PER_ADDRESS)} ` +
        `source addresses.`,
    },
  };
  const targets: Target[] = [
    checkTarget(
      'idle gateway RSS per connection',
      last.rssPerConnB,
      '<=',
      4096,
      'B',
      `Node's own per-socket cost: a bare ws server holding the same idle connections in this run needs ` +
        `${bare.steps.at(-1)!.rssPerConnB} B RSS (${bare.steps.at(-1)!.heapPerConnB} B JS heap) per connection ` +
        '(net.Socket, its libuv handle, the ws WebSocket with Receiver and Sender); the gateway adds ' +
        `${last.heapPerConnB - bare.steps.at(-1)!.heapPerConnB} B of heap per connection (Connection, connection ` +
        'and device maps, frame budget, route-table entry in embedded mode). RSS also keeps allocator ' +
        'fragments from the connect burst; the marginal slope between steps is in figures.gateway.slope. The floor ' +
        `under both: Node holding the same upgraded sockets with no WebSocket layer at all needs ` +
        `${floor.steps.at(-1)!.rssPerConnB} B RSS (${floor.steps.at(-1)!.heapPerConnB} B heap) per connection ` +
        '(figures.nodeSocketFloor), so no server written for Node gets far under it' +
        (bun.available
          ? `; Bun's server (uWebSockets, C++) holds them at ${bun.steps.at(-1)!.rssPerConnB} B RSS per connection`
          : ''),
    ),
  ];
  targets.push(
    checkTarget(
      `gateway's addition to a ping round trip over bare ws (p50, one socket, ${last.connections} others idle)`,
      ping.medianPairedDifferenceUs,
      '<=',
      50,
      'us',
      "the gateway decodes the ClientFrame, counts it against the connection's frame budget and encodes the answer " +
        'as a ServerFrame; ' +
        'bare ws answers the same decoded ping. Pings to the two servers were taken in turns, and the figure is the ' +
        "median of each turn's difference (figures.ping; the p50s' difference moves by tens of µs between runs)",
    ),
    checkTarget(
      `idle connections dropped while held ${Math.round(ours.heartbeatHold.ms / 1000)} s with heartbeats`,
      ours.heartbeatHold.dropped,
      '<=',
      0,
      'connections',
    ),
  );
  if (spread) {
    if (spread.connections >= 100_000)
      targets.push(
        checkTarget(
          `idle connections held across ${spread.gatewayProcesses} gateway processes`,
          spread.held,
          '>=',
          100_000,
          'connections',
          spread.failed ? `connects failed: ${JSON.stringify(spread.errors)}` : undefined,
        ),
      );
    targets.push(
      checkTarget(
        `of ${spread.opened} spread connections, dropped while held ${spread.holdSec} s`,
        spread.dropped,
        '<=',
        0,
        'connections',
      ),
    );
  }
  const charts: Chart[] = [
    {
      kind: 'line',
      title: 'Process memory vs idle connections (after full GC)',
      xLabel: 'connections',
      yLabel: 'MiB',
      series: [
        {
          name: 'gateway RSS',
          points: [[0, ours.base.rssMiB], ...ours.steps.map((s) => [s.connections, s.rssMiB] as [number, number])],
        },
        {
          name: 'gateway heap',
          points: [
            [0, ours.base.heapUsedMiB],
            ...ours.steps.map((s) => [s.connections, s.heapUsedMiB] as [number, number]),
          ],
        },
        {
          name: 'bare ws RSS',
          points: [[0, bare.base.rssMiB], ...bare.steps.map((s) => [s.connections, s.rssMiB] as [number, number])],
          dashed: true,
        },
        {
          name: 'bare ws heap',
          points: [
            [0, bare.base.heapUsedMiB],
            ...bare.steps.map((s) => [s.connections, s.heapUsedMiB] as [number, number]),
          ],
          dashed: true,
        },
      ],
    },
    ...(spread
      ? [
          {
            kind: 'bar' as const,
            title: `${spread.held} idle connections held on ${spread.gatewayProcesses} gateway processes`,
            yLabel: 'connections / MiB RSS',
            groups: spread.perGateway.map((g, i) => ({
              label: `gateway ${i + 1}`,
              bars: [
                { name: 'connections', value: g.connections },
                { name: 'RSS MiB', value: g.rssMiB },
              ],
            })),
          },
        ]
      : []),
    {
      kind: 'bar',
      title: 'Memory per idle connection at the last step',
      yLabel: 'bytes per connection',
      groups: [
        {
          label: 'RSS',
          bars: [
            { name: 'gateway', value: last.rssPerConnB },
            { name: 'bare ws', value: bare.steps.at(-1)!.rssPerConnB },
            { name: 'Node socket floor', value: floor.steps.at(-1)!.rssPerConnB },
            ...(bun.available ? [{ name: 'Bun', value: bun.steps.at(-1)!.rssPerConnB }] : []),
          ],
        },
        {
          label: 'JS heap',
          bars: [
            { name: 'gateway', value: last.heapPerConnB },
            { name: 'bare ws', value: bare.steps.at(-1)!.heapPerConnB },
            { name: 'Node socket floor', value: floor.steps.at(-1)!.heapPerConnB },
          ],
        },
      ],
      hLine: { y: 4096, label: 'target 4 KiB' },
    },
  ];
  return writeResult(
    ctx.out,
    {
      scenario: 'idle',
      title: `Idle connections: one gateway process, up to ${max}`,
      startedAt,
      command: ctx.command,
      size: ctx.size,
      mode: ['embedded'],
      load: {
        connections: max,
        steps: plan,
        gatewayProcesses: 1,
        clientProcesses: workerCount,
        heartbeatIntervalMs: HEARTBEAT_MS,
        heartbeatTimeoutMs: HEARTBEAT_MS * 3,
        connectConcurrencyPerClientProcess: 100,
        gatewayEnv: env,
      },
      figures,
      baselines: {
        bareWs: { description: 'bare ws server: same token check, answers pings' },
        nodeSocketFloor: {
          description:
            'the floor: node:http answers the upgrade with a 101 and one fixed frame, then only holds the net.Socket ' +
            '(no WebSocket layer, no token check, no heartbeats answered); memory steps only',
        },
        bun: bun.available
          ? {
              available: true,
              version: bun.version,
              description:
                "Bun's built-in WebSocket server (Bun.serve, uWebSockets inside), the bun binary from npm: the same " +
                'token check, answers pings; memory steps only (figures.bun)',
            }
          : bun,
      },
      targets,
      notes: [
        'Memory is the gateway process (every embedded service in it) after two full GCs; per connection = growth ' +
          'since 0 connections / connections. Kernel socket buffers are not in RSS.',
        `Heartbeats on: clients ping every ${HEARTBEAT_MS} ms, the gateway closes connections silent for ${HEARTBEAT_MS * 3} ms.`,
        'Spread (figures.spread): the total held at once across several gateway processes (embedded servers, one ' +
          'per ~15,000 connections, each under the open-file limit), clients pinging every ' +
          `${spread?.heartbeatIntervalMs ?? SPREAD_HEARTBEAT_MS} ms (mobile-like; shorter at the tiny size); held for more than two intervals.`,
      ],
    },
    charts,
    [`${max} idle connections, ${workerCount} client processes; dashed: bare ws baseline`],
  );
}

function fdCount(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return 0;
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length === 0 ? 0 : sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function slope(points: [number, number][]): number {
  if (points.length < 2) return points[0] ? points[0][1] / Math.max(1, points[0][0]) : 0;
  const n = points.length;
  const mx = points.reduce((a, p) => a + p[0], 0) / n;
  const my = points.reduce((a, p) => a + p[1], 0) / n;
  const sxy = points.reduce((a, p) => a + (p[0] - mx) * (p[1] - my), 0);
  const sxx = points.reduce((a, p) => a + (p[0] - mx) ** 2, 0);
  return sxx > 0 ? sxy / sxx : 0;
}
