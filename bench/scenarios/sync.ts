// Scenario 5, sync. (a) GetDiff paging through a backlog of 1,000 messages: per-page and whole-backlog latency,
// repeated. (b) Reconnect storm: N clients that were connected and saved their sync_key go away, messages arrive for
// every one of them (group sends), then all reconnect at once and pull GetDiff from their saved key: time until
// every client is whole. Both against the embedded server and a bare `ws` server with an in-memory inbox.
import { Histogram, type HistogramData } from '../lib/histogram.ts';
import { cassandraRequests, requestsBetween, type CassandraRequests } from '../lib/cassandra-requests.ts';
import { CpuMeter, PidsCpu } from '../lib/machine.ts';
import { sleep, wallMs } from '../lib/progress.ts';
import { checkTarget, round, writeResult, BUN_BASELINE, type Target } from '../lib/result.ts';
import {
  enginePids,
  openSpread,
  SOCKETS_PER_WORKER,
  sourceAddresses,
  startBareServer,
  startBenchCluster,
  embeddedStores,
  startGatewayServer,
  startWorkers,
  stopAll,
  type Ctx,
  type Worker,
} from '../lib/fleet.ts';
import type { Chart } from '../lib/svg.ts';

const SIZES = {
  tiny: { backlog: 50, backlogUsers: 1, repeat: 3, senders: 2, storm: 40, perClient: 2 },
  default: { backlog: 1_000, backlogUsers: 3, repeat: 30, senders: 10, storm: 10_000, perClient: 5 },
  large: { backlog: 1_000, backlogUsers: 5, repeat: 100, senders: 20, storm: 15_000, perClient: 5 },
};
const PAGE_LIMITS = [100, 500];
const GROUP_MEMBERS = 199; // + the owner: the small-group limit of 200
const STORM_TIMEOUT_MS = 120_000;
const BACKLOG_TAG = 0xfffffff0;
const STORM_TAG = 0xfffffff1;

interface System {
  name: string;
  urls: string[];
  /** The server's processes (cluster: services and engines), for CPU per process during the storm. */
  pids?: Record<string, number>;
  /** Cluster: Cassandra's request counters, read before and after the storm. */
  cassandraRequests?: () => Promise<CassandraRequests>;
}

async function getDiffPaging(ctx: Ctx, sys: System, workers: Worker[], size: (typeof SIZES)['default']) {
  const backlog = ctx.flags.backlog ?? size.backlog;
  const prefix = `${ctx.runId}${sys.name === 'bare ws' ? 'x' : 'g'}`;
  const readers = Array.from({ length: size.backlogUsers }, (_, i) => `${prefix}reader${i}`);
  const senders = Array.from({ length: size.senders }, (_, i) => `${prefix}sender${i}`);
  const [sendWorker, readWorker] = [workers[0]!, workers[1]!];
  const common = { urls: sys.urls, concurrency: 50, auth: ctx.auth, timeoutMs: 60_000, pingMs: 10_000 };
  const s = await sendWorker.call('open', {
    ...common,
    users: senders,
    device: 'd',
    localAddresses: sourceAddresses(0, 100),
  });
  const r = await readWorker.call('open', {
    ...common,
    users: readers,
    device: 'd',
    localAddresses: sourceAddresses(1, 100),
  });
  if (s.failed || r.failed)
    throw new Error(`${sys.name}: connections failed ${JSON.stringify({ ...s.errors, ...r.errors })}`);
  const t0 = performance.now();
  const from = Array.from({ length: senders.length }, (_, i) => s.first + i);
  const perSender = Math.ceil(backlog / senders.length);
  for (const reader of readers) {
    const sent = await sendWorker.call(
      'sendMessages',
      { from, to: { user: reader }, count: perSender, window: 10, tag: BACKLOG_TAG, timeoutMs: 120_000 },
      150_000,
    );
    if (sent.ok < perSender * senders.length)
      throw new Error(`${sys.name}: backlog for ${reader}: ${sent.ok} sent, errors ${JSON.stringify(sent.errors)}`);
  }
  const total = perSender * senders.length;
  ctx.log(
    `${sys.name}: backlog of ${total} messages for each of ${readers.length} users in ${Math.round(performance.now() - t0)} ms`,
  );
  await sleep(1_000); // the catch-up push of a connecting device, and live deliveries, are over
  const out: Record<string, { pages: HistogramData; totals: HistogramData; messagesPerPass: number; passes: number }> =
    {};
  for (const limit of PAGE_LIMITS) {
    const pages = new Histogram();
    const totals = new Histogram();
    let messagesPerPass = 0;
    let passes = 0;
    // one warm-up pass per reader, then the measured passes
    for (let i = 0; i < readers.length; i++) {
      await readWorker.call('pageDiff', { sock: r.first + i, limit, repeat: 1, maxPages: 100, timeoutMs: 30_000 });
      const res = await readWorker.call(
        'pageDiff',
        { sock: r.first + i, limit, repeat: size.repeat, maxPages: 100, timeoutMs: 60_000 },
        90_000,
      );
      pages.merge(res.pages);
      totals.merge(res.totals);
      messagesPerPass = res.messagesPerPass;
      passes += res.passes;
    }
    if (messagesPerPass < total)
      ctx.log(`${sys.name}: WARNING: a pass read ${messagesPerPass} of the ${total} messages in the backlog`);
    out[`limit${limit}`] = { pages: pages.toData(), totals: totals.toData(), messagesPerPass, passes };
    const p = pages.summary();
    const t = totals.summary();
    ctx.log(
      `${sys.name}: GetDiff limit ${limit}: per page p50 ${p.p50} p99 ${p.p99} ms; whole ${messagesPerPass} ` +
        `messages p50 ${t.p50} p99 ${t.p99} ms (${passes} passes)`,
    );
  }
  await Promise.all(workers.map((w) => w.call('closeAll', { timeoutMs: 10_000 })));
  await Promise.all(workers.map((w) => w.call('forget', {})));
  return {
    backlog: total,
    byLimit: Object.fromEntries(
      Object.entries(out).map(([k, v]) => [
        k,
        {
          perPage: Histogram.from(v.pages).summary(),
          wholeBacklog: Histogram.from(v.totals).summary(),
          messagesPerPass: v.messagesPerPass,
          passes: v.passes,
        },
      ]),
    ),
  };
}

async function storm(ctx: Ctx, sys: System, workers: Worker[], clients: number, perClient: number) {
  const prefix = `${ctx.runId}${sys.name === 'bare ws' ? 'y' : 'm'}`;
  const users = Array.from({ length: clients }, (_, i) => `${prefix}${i}`);
  const owner = `${prefix}owner`;
  const t0 = performance.now();
  const opened = await openSpread(ctx, workers, users, {
    urls: sys.urls,
    device: 'd',
    concurrency: 100,
    timeoutMs: 180_000,
    pingMs: 0,
  });
  if (opened.failed)
    throw new Error(`${sys.name}: ${opened.failed} storm clients failed to connect: ${JSON.stringify(opened.errors)}`);
  const synced = await Promise.all(
    workers.map((w) => w.call('syncAll', { limit: 100, concurrency: 100, timeoutMs: 120_000 }, 150_000)),
  );
  const connectSec = round((performance.now() - t0) / 1000, 1);
  ctx.log(
    `${sys.name}: ${opened.opened} clients connected and synced in ${connectSec} s ` +
      `(${Math.round(opened.opened / (opened.ms / 1000))} connects/s); they now go away`,
  );
  await Promise.all(workers.map((w) => w.call('closeAll', { timeoutMs: 15_000 }, 30_000)));
  // While they are away: group sends, so each of them has `perClient` new messages waiting.
  const ownerWorker = workers[0]!;
  const o = await ownerWorker.call('open', {
    urls: sys.urls,
    users: [owner],
    device: 'd',
    localAddresses: ['127.0.0.9'],
    concurrency: 1,
    auth: ctx.auth,
    timeoutMs: 30_000,
    pingMs: 0,
  });
  const groups: string[][] = [];
  for (let i = 0; i < users.length; i += GROUP_MEMBERS) groups.push(users.slice(i, i + GROUP_MEMBERS));
  const ids = await ownerWorker.call('createGroups', { owner: o.first, groups }, 120_000);
  const t1 = performance.now();
  for (const id of ids) {
    const sent = await ownerWorker.call(
      'sendMessages',
      { from: [o.first], to: { group: id }, count: perClient, window: perClient, tag: STORM_TAG, timeoutMs: 60_000 },
      90_000,
    );
    if (sent.ok < perClient)
      throw new Error(`${sys.name}: group send: ${sent.ok}/${perClient}, ${JSON.stringify(sent.errors)}`);
  }
  ctx.log(
    `${sys.name}: ${ids.length} groups, ${ids.length * perClient} group sends (${clients * perClient} inbox entries) ` +
      `in ${Math.round(performance.now() - t1)} ms; storm in 1 s`,
  );
  await sleep(1_000);
  const concurrency = 1_000;
  const startAt = wallMs() + 300;
  const requestsBefore = await sys.cassandraRequests?.();
  const meter = new CpuMeter();
  const processMeter = new PidsCpu({
    ...sys.pids,
    ...Object.fromEntries(workers.map((w, i) => [`client-${i + 1}`, w.pid])),
  });
  const stormStart = performance.now();
  const results = await Promise.all(
    workers.map((w) =>
      w.call(
        'storm',
        { startAt, concurrency, expect: perClient, tag: STORM_TAG, limit: 100, timeoutMs: STORM_TIMEOUT_MS },
        STORM_TIMEOUT_MS + 60_000,
      ),
    ),
  );
  const machineCpu = meter.sample();
  const stormSec = (performance.now() - stormStart) / 1000;
  // CPU milliseconds each process spent per client of the storm (clients that never got whole included).
  const cpuMsPerClient = Object.fromEntries(
    Object.entries(processMeter.sample()).map(([name, cores]) => [name, round((cores * stormSec * 1000) / clients, 2)]),
  );
  const whole = new Histogram();
  const connected = new Histogram();
  const errors: Record<string, number> = {};
  for (const r of results) {
    whole.merge(r.whole);
    connected.merge(r.connected);
    for (const [k, v] of Object.entries(r.errors)) errors[k] = (errors[k] ?? 0) + v;
  }
  const lastWholeAt = Math.max(...results.map((r) => r.lastWholeAt));
  const allWhole = whole.count === clients;
  const allWholeSec = allWhole ? round((lastWholeAt - startAt) / 1000, 2) : null;
  ctx.log(
    `${sys.name}: storm of ${clients}: ${whole.count} whole` +
      (allWholeSec !== null ? `, all within ${allWholeSec} s` : ` (NOT all within ${STORM_TIMEOUT_MS / 1000} s)`) +
      `; connected p50 ${connected.summary().p50} ms p99 ${connected.summary().p99} ms; whole p50 ` +
      `${whole.summary().p50} ms p99 ${whole.summary().p99} ms; machine CPU ${Math.round(machineCpu * 100)}%` +
      (Object.keys(errors).length ? `; retries/errors ${JSON.stringify(errors)}` : ''),
  );
  ctx.log(`${sys.name}: CPU ms per client by process: ${JSON.stringify(cpuMsPerClient)}`);
  const cassandraRequestsPerClient =
    requestsBefore && sys.cassandraRequests
      ? requestsBetween(requestsBefore, await sys.cassandraRequests(), clients)
      : undefined;
  if (cassandraRequestsPerClient) {
    ctx.log(`${sys.name}: Cassandra requests per client by table: ${JSON.stringify(cassandraRequestsPerClient)}`);
  }
  await Promise.all(workers.map((w) => w.call('closeAll', { timeoutMs: 15_000 }, 30_000)));
  await Promise.all(workers.map((w) => w.call('forget', {})));
  return {
    clients,
    messagesPerClient: perClient,
    groups: ids.length,
    connectConcurrencyPerClientProcess: concurrency,
    allWhole,
    allWholeSec,
    wholeMs: whole.summary(),
    connectedMs: connected.summary(),
    initialConnectSec: connectSec,
    initialConnectPerSec: Math.round(opened.opened / (opened.ms / 1000)),
    initialSyncOk: synced.reduce((a, s) => a + s.ok, 0),
    machineCpu,
    cpuMsPerClient,
    cassandraRequestsPerClient,
    errors,
  };
}

export async function sync(ctx: Ctx) {
  const startedAt = new Date().toISOString();
  const size = SIZES[ctx.size];
  const stormClients = ctx.flags.stormClients ?? size.storm;
  const mode = ctx.flags.mode ?? 'embedded';
  const workerCount = Math.max(2, ctx.flags.workers ?? Math.ceil(stormClients / SOCKETS_PER_WORKER));
  ctx.log(
    `sync: GetDiff through a ${ctx.flags.backlog ?? size.backlog}-message backlog (pages of ${PAGE_LIMITS.join(' and ')}), ` +
      `then a reconnect storm of ${stormClients} clients (${size.perClient} messages waiting each) on ${workerCount} client processes`,
  );
  const workers = startWorkers(ctx, workerCount);
  const getDiff: Record<string, Awaited<ReturnType<typeof getDiffPaging>>> = {};
  const storms: Record<string, Awaited<ReturnType<typeof storm>>> = {};
  try {
    if (mode !== 'cluster') {
      for (const { name, env, remove } of embeddedStores()) {
        const gw = await startGatewayServer(ctx, { IM_RATE_LIMIT_FRAMES: '1000', ...env });
        try {
          const sys = { name, urls: [gw.url], pids: { gateway: gw.child.pid } };
          getDiff[name] = await getDiffPaging(ctx, sys, workers, size);
          storms[name] = await storm(ctx, sys, workers, stormClients, size.perClient);
        } finally {
          await gw.child.stop();
          remove();
        }
      }
      const bare = await startBareServer(ctx);
      try {
        const sys = { name: 'bare ws', urls: [bare.url], pids: { 'bare ws': bare.child.pid } };
        getDiff['bare ws'] = await getDiffPaging(ctx, sys, workers, size);
        storms['bare ws'] = await storm(ctx, sys, workers, stormClients, size.perClient);
      } finally {
        await bare.child.stop();
      }
    }
    if (mode !== 'embedded') {
      const cluster = await startBenchCluster(ctx, { IM_RATE_LIMIT_FRAMES: '1000' });
      try {
        const sys = {
          name: 'cluster',
          urls: cluster.gateways.map((g) => g.url),
          pids: { ...cluster.pids(), ...(await enginePids()) },
          cassandraRequests: () => cassandraRequests(),
        };
        getDiff.cluster = await getDiffPaging(ctx, sys, workers, size);
        storms.cluster = await storm(ctx, sys, workers, stormClients, size.perClient);
      } finally {
        await cluster.close();
      }
    }
  } finally {
    await stopAll(workers);
  }

  const main = mode === 'cluster' ? 'cluster' : 'embedded';
  const gd = getDiff[main]!.byLimit.limit100!;
  const gd500 = getDiff[main]!.byLimit.limit500!;
  const st = storms[main]!;
  const scaled = stormClients !== 10_000;
  const targets: Target[] = [
    checkTarget(
      `GetDiff of ${getDiff[main]!.backlog} messages (pages of 100), ${main}, p99 of the whole backlog`,
      gd.wholeBacklog.p99,
      '<=',
      50,
      'ms',
      'per page: the inbox read, protobuf encode of 100 messages and the frame; pages are sequential round trips',
    ),
    checkTarget(
      `GetDiff of ${getDiff[main]!.backlog} messages (pages of 500, as the SDK asks), ${main}, p99 of the whole backlog`,
      gd500.wholeBacklog.p99,
      '<=',
      50,
      'ms',
      'the Cassandra read and the protobuf decode/encode of 500 messages in sync, the client decoding them',
    ),
    checkTarget(`GetDiff page of 100 messages, ${main}, p99`, gd.perPage.p99, '<=', 50, 'ms'),
    checkTarget(
      `reconnect storm of ${stormClients} (${main}): all whole within`,
      st.allWholeSec,
      '<=',
      scaled ? round((30 * stormClients) / 10_000, 1) : 30,
      's',
      main === 'cluster'
        ? 'CPU: the machine is busy throughout; the share of each process per reconnect is in cpuMsPerClient (Cassandra ' +
            'the largest, its requests per table in cassandraRequestsPerClient); the client processes share the 2 cores'
        : 'connection setup (WebSocket handshake + Ed25519 token check) and the GetDiff of every client on one ' +
            'process; the client processes share the 2 cores',
    ),
  ];
  const disk = getDiff['embedded, disk']?.byLimit.limit100;
  if (disk) {
    const t = checkTarget('GetDiff page of 100 messages, embedded on disk, p99', disk.perPage.p99, '<=', 10, 'ms');
    t.limitedBy = `in memory in the same run: p99 ${getDiff.embedded?.byLimit.limit100?.perPage.p99 ?? '?'} ms`;
    targets.push(t);
  }
  if (scaled)
    targets.at(mode === 'cluster' || !disk ? -1 : -2)!.name +=
      ` (target 10,000 within 30 s, scaled linearly to ${stormClients}; run --size large for 10,000)`;
  const names = Object.keys(getDiff);
  const charts: Chart[] = [
    {
      kind: 'bar',
      title: 'GetDiff through the backlog (pages of 100)',
      yLabel: 'ms',
      groups: [
        { label: 'page p50', bars: names.map((n) => ({ name: n, value: getDiff[n]!.byLimit.limit100!.perPage.p50 })) },
        { label: 'page p99', bars: names.map((n) => ({ name: n, value: getDiff[n]!.byLimit.limit100!.perPage.p99 })) },
        {
          label: 'whole p50',
          bars: names.map((n) => ({ name: n, value: getDiff[n]!.byLimit.limit100!.wholeBacklog.p50 })),
        },
        {
          label: 'whole p99',
          bars: names.map((n) => ({ name: n, value: getDiff[n]!.byLimit.limit100!.wholeBacklog.p99 })),
        },
      ],
      hLine: { y: 50, label: 'target 50 ms' },
    },
    {
      kind: 'bar',
      title: `Reconnect storm of ${stormClients}: seconds until whole`,
      yLabel: 's',
      groups: [
        { label: 'connected p50', bars: names.map((n) => ({ name: n, value: storms[n]!.connectedMs.p50 / 1000 })) },
        { label: 'whole p50', bars: names.map((n) => ({ name: n, value: storms[n]!.wholeMs.p50 / 1000 })) },
        { label: 'whole p99', bars: names.map((n) => ({ name: n, value: storms[n]!.wholeMs.p99 / 1000 })) },
        {
          label: 'all whole',
          bars: names.map((n) => ({ name: n, value: storms[n]!.allWholeSec ?? STORM_TIMEOUT_MS / 1000 })),
        },
      ],
    },
  ];
  return writeResult(
    ctx.out,
    {
      scenario: 'sync',
      title: `Sync: GetDiff paging and a reconnect storm of ${stormClients}`,
      startedAt,
      command: ctx.command,
      size: ctx.size,
      mode: names.filter((n) => n !== 'bare ws'),
      load: {
        backlog: ctx.flags.backlog ?? size.backlog,
        backlogUsers: size.backlogUsers,
        pageLimits: PAGE_LIMITS,
        passesPerUser: size.repeat,
        stormClients,
        messagesWaitingPerClient: size.perClient,
        groupSize: GROUP_MEMBERS + 1,
        clientProcesses: workerCount,
        gatewayProcesses: 1,
        stormConnectConcurrencyPerClientProcess: 1_000,
        gatewayEnv: { IM_RATE_LIMIT_FRAMES: '1000' },
      },
      figures: { getDiff, storm: storms },
      baselines: {
        bareWs: {
          description:
            'bare ws server: in-memory array per user, GetDiff = slice + encode; group send appends to ' +
            'each member array (no bus, no durability)',
        },
        bun: BUN_BASELINE,
      },
      targets,
      notes: [
        'GetDiff passes start from the empty key (the device has acked nothing), so every pass reads the whole backlog; the first pass per user is a warm-up and not counted.',
        'Whole: the client has every message sent while it was away (pushed on reconnect or pulled with GetDiff from its saved key) and GetDiff says has_more = false.',
        'IM_RATE_LIMIT_FRAMES is raised to 1000 so building the backlog from a few sender connections is not rate limited.',
      ],
    },
    charts,
    [
      `backlog ${ctx.flags.backlog ?? size.backlog} messages; storm of ${stormClients} with ${size.perClient} messages waiting each`,
    ],
  );
}
