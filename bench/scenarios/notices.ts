// Scenario 7, system notices (issue 20), embedded mode on a data directory of its own (IM_DATA_DIR on disk, as
// `npm start` keeps its data). One server process, client processes holding the online devices; the app's requests
// from the bench signed and sent by NoticeApiClient (client/notice-api.ts), the throughput load's by the client
// processes (the same signing, over node:http).
// (1) Broadcast reach: N registered users (each has an inbox entry: a "welcome" multicast written to every one of
//     them, 10,000 per request), M of them online over WebSockets spread over client processes; one broadcast at a
//     time: from the request to each online device's receipt (p50/p99/max, the last device), the rows it wrote
//     (its status' counts.stored), and afterwards a new device's first GetDiff for offline registered users.
// (2) Priority lane: K high-priority unicasts to one online user, paced, first with nothing else going on (the
//     baseline), then while a low-priority multicast to L users (requests of 10,000) is being written: from each
//     request to the device's receipt, and how long the multicast took to be written whole.
// (3) API throughput: signed unicasts (each to a different registered user, a tenth of them online) from the
//     client processes at stepped rates, open loop, until saturation: accepted notices/s, request latency, and the
//     server process's CPU per notice (until every accepted notice was fired).
// Where a target is missed, that part runs once more with the server's CPU profiled (node:inspector), and the
// top self-time functions go into the result (figures.profiles).
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { NoticeApiClient, OperatorClient, type NoticeStatus } from '../../client/notice-api.ts';
import { inclusiveLines, nativeLines, profileLines, type ProfileSummary } from '../lib/cpu-profile.ts';
import { Histogram, type Percentiles } from '../lib/histogram.ts';
import { cpus } from 'node:os';
import { CpuMeter } from '../lib/machine.ts';
import { threadLine, watchThread, type ThreadTime } from '../lib/thread-state.ts';
import { sleep, wallMs } from '../lib/progress.ts';
import { checkTarget, round, stamp, writeResult, BUN_BASELINE, type Target } from '../lib/result.ts';
import {
  embeddedStores,
  openSpread,
  sourceAddresses,
  startGatewayServer,
  startWorkers,
  stopAll,
  SOCKETS_PER_WORKER,
  type Ctx,
  type GatewayServer,
  type Worker,
} from '../lib/fleet.ts';
import { PALETTE, type Chart } from '../lib/svg.ts';

const SIZES = {
  tiny: {
    users: 300,
    online: 40,
    perRequest: 100,
    broadcasts: 2,
    offlineSamples: 3,
    laneUsers: 300,
    unicasts: 5,
    rates: [50, 100],
    stepSec: 1,
    maxInFlight: 16,
  },
  default: {
    users: 100_000,
    online: 10_000,
    perRequest: 10_000,
    broadcasts: 3,
    offlineSamples: 5,
    laneUsers: 100_000,
    unicasts: 50,
    rates: [1_000, 2_500, 5_000, 7_500],
    stepSec: 4,
    maxInFlight: 256,
  },
  large: {
    // One gateway process holds at most ~19,000 sockets (the open-file limit).
    users: 250_000,
    online: 18_000,
    perRequest: 10_000,
    broadcasts: 5,
    offlineSamples: 10,
    laneUsers: 200_000,
    unicasts: 100,
    rates: [1_000, 2_500, 5_000, 7_500, 10_000],
    stepSec: 8,
    maxInFlight: 256,
  },
};
const WORKERS = 2;
const UNICAST_GAP_MS = 20;
const BROADCAST_WAIT_MS = 30_000;
const UNICAST_WAIT_MS = 15_000;
const STEP_DRAIN_MS = 30_000;
const SATURATED_P99_MS = 1_000;
/** Heartbeats at the interval the gateway tells clients (IM_HEARTBEAT_INTERVAL_MS, 25 s), as the SDK sends them. */
const PING_MS = 25_000;
const PROFILE_INTERVAL_US = 1_000;
const TARGETS = { broadcastP99Ms: 1_000, designBroadcastMs: 3_000, laneP99Ms: 100, perSec: 5_000 };
const CONTENT = { title: 'bench', body: 'a system notice from the notices benchmark' };

/** The bench's view of the server and the app it sends as. */
interface Setup {
  ctx: Ctx;
  server: GatewayServer;
  api: NoticeApiClient;
  app: { id: string; secret: string };
  baseUrl: string;
  workers: Worker[];
  /** Prefix of every app message_id the client processes record receipts of. */
  watch: string;
  /** Where profiles go: this plus "-<part>.cpuprofile", beside the result. */
  profileBase: string;
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

/** The quantile curve of `values` (ms): [percent of devices, ms] at every 2% and the last one, for the chart. */
function quantileCurve(values: number[]): [number, number][] {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return [];
  const out: [number, number][] = [];
  for (let pct = 0; pct <= 100; pct += 2) {
    const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((pct / 100) * sorted.length) - 1));
    out.push([pct, round(Math.max(0, sorted[i]!), 2)]);
  }
  return out;
}

function histogramOf(values: number[]): Histogram {
  const h = new Histogram();
  for (const v of values) h.record(v);
  return h;
}

/** Receipts of `ids` from every client process (forgotten there), by id. */
async function takeReceipts(workers: Worker[], ids: string[]): Promise<Map<string, number[]>> {
  const out = new Map<string, number[]>(ids.map((id) => [id, []]));
  for (const r of await Promise.all(workers.map((w) => w.call('takeNoticeReceipts', { ids }, 60_000)))) {
    for (const id of ids) out.get(id)!.push(...(r.receipts[id] ?? []));
  }
  return out;
}

async function receivedCount(workers: Worker[], ids: string[]): Promise<number> {
  const counts = await Promise.all(workers.map((w) => w.call('noticeCounts', { ids })));
  return sum(counts.flat());
}

/** Polls the notices' status until every one is sent (or `timeoutMs`): the last fired_at_ms and the counts. */
async function waitAllSent(api: NoticeApiClient, ids: string[], timeoutMs: number, everyMs = 250) {
  const deadline = wallMs() + timeoutMs;
  const pending = new Set(ids);
  const sent = new Map<string, NoticeStatus>();
  while (pending.size > 0 && wallMs() < deadline) {
    for (const id of [...pending]) {
      const st = await api.get(id);
      if (st.state === 'sent' && st.counts.stored > 0) {
        pending.delete(id);
        sent.set(id, st);
      } else if (st.state === 'cancelled' || st.state === 'expired') {
        throw new Error(`notice ${id} ended ${st.state}`);
      }
    }
    if (pending.size > 0) await sleep(everyMs);
  }
  const done = [...sent.values()];
  return {
    allSent: pending.size === 0,
    sent: done.length,
    lastFiredAt: Math.max(0, ...done.map((s) => s.fired_at_ms)),
    stored: sum(done.map((s) => s.counts.stored)),
    delivered: sum(done.map((s) => s.counts.delivered)),
  };
}

/** A multicast to `users` in requests of `perRequest` (sent one after another); resolves with their ids. */
async function multicast(
  s: Setup,
  users: string[],
  perRequest: number,
  priority: 'high' | 'normal' | 'low',
  messagePrefix: string,
  onFirstAccepted?: () => void,
) {
  const ids: string[] = [];
  const requestMs: number[] = [];
  for (let start = 0, r = 0; start < users.length; start += perRequest, r++) {
    const t0 = wallMs();
    const st = await s.api.send({
      message_id: `${messagePrefix}${r}`,
      target: { users: users.slice(start, start + perRequest) },
      content: CONTENT,
      priority,
    });
    requestMs.push(round(wallMs() - t0, 1));
    ids.push(st.id);
    if (r === 0) onFirstAccepted?.();
  }
  return { ids, requestMs };
}

/** Runs `fn` with the server's CPU profiled; the top self-time functions (kept in `profiles` under `what`). */
async function profiled(s: Setup, what: string, fn: () => Promise<unknown>): Promise<ProfileSummary> {
  await s.server.child.call('profileStart', { intervalUs: PROFILE_INTERVAL_US });
  let summary: ProfileSummary;
  const saveTo = `${s.profileBase}-${what.replace(/\W+/g, '-')}.cpuprofile`;
  try {
    await fn();
  } finally {
    mkdirSync(dirname(saveTo), { recursive: true });
    summary = await s.server.child.call('profileStop', { top: 20, saveTo }, 60_000);
  }
  s.ctx.log(`profile of ${what} (server, ${summary.busyMs} ms busy of ${summary.wallMs} ms; ${saveTo}): self time`);
  for (const line of profileLines(summary, 10)) s.ctx.log(`  ${line}`);
  s.ctx.log('native time by its caller:');
  for (const line of nativeLines(summary, 8)) s.ctx.log(`  ${line}`);
  s.ctx.log('inclusive time of the server code:');
  for (const line of inclusiveLines(summary, 12)) s.ctx.log(`  ${line}`);
  profiles[what] = { ...summary, file: basename(saveTo) };
  return summary;
}
let profiles: Record<string, ProfileSummary & { file: string }> = {};

// ---- (1) broadcast reach ----

interface BroadcastRun {
  /** Online devices that got it, of those connected. */
  devices: number;
  online: number;
  /** From the request being sent (the bench's clock before the request) to each device's receipt. */
  fromRequest: Percentiles;
  /** From the API's answer (201) being read to each device's receipt; receipts before it count as 0. */
  fromAnswer: Percentiles;
  /** Devices that had the notice before the bench read the 201. */
  beforeAnswer: number;
  /** Request to the last device, ms. */
  lastDeviceMs: number;
  requestMs: number;
  /** The notice's status once sent: rows written (1: the system timeline), devices it was handed to. */
  stored: number;
  delivered: number;
  firstDeliveryMs: number;
}

async function broadcastOnce(s: Setup, b: number, online: number): Promise<{ run: BroadcastRun; curve: number[] }> {
  const messageId = `${s.watch}bc${b}`;
  const sentAt = wallMs();
  const st = await s.api.send({ message_id: messageId, target: { all: true }, content: CONTENT, priority: 'normal' });
  const answeredAt = wallMs();
  if (!st.created) throw new Error(`broadcast ${messageId} not created: ${JSON.stringify(st)}`);
  const deadline = answeredAt + BROADCAST_WAIT_MS;
  while ((await receivedCount(s.workers, [messageId])) < online && wallMs() < deadline) await sleep(20);
  const at = (await takeReceipts(s.workers, [messageId])).get(messageId)!;
  const fromRequest = at.map((t) => t - sentAt);
  const fromAnswer = at.map((t) => t - answeredAt);
  const status = await waitAllSent(s.api, [st.id], 10_000, 50);
  const final = await s.api.get(st.id);
  if (!status.allSent) s.ctx.log(`broadcast ${b}: WARNING: not marked sent within 10 s (state ${final.state})`);
  return {
    run: {
      devices: at.length,
      online,
      fromRequest: histogramOf(fromRequest).summary(),
      fromAnswer: histogramOf(fromAnswer).summary(),
      beforeAnswer: fromAnswer.filter((ms) => ms < 0).length,
      lastDeviceMs: round(Math.max(0, ...fromRequest), 1),
      requestMs: round(answeredAt - sentAt, 1),
      stored: final.counts.stored,
      delivered: final.counts.delivered,
      firstDeliveryMs: final.first_delivery_ms,
    },
    curve: fromRequest,
  };
}

async function broadcastReach(s: Setup, size: (typeof SIZES)['default'], users: string[], online: number) {
  const { ctx, workers } = s;
  // Registration: every user gets an inbox entry (state in the server), requests of 10,000, normal priority.
  const t0 = wallMs();
  const welcome = await multicast(s, users, size.perRequest, 'normal', `${ctx.runId}-welcome-`);
  const registered = await waitAllSent(s.api, welcome.ids, Math.max(60_000, users.length * 5));
  if (!registered.allSent)
    throw new Error(`registration: ${registered.sent} of ${welcome.ids.length} welcome multicasts sent in time`);
  const registerSec = Math.max(0.001, (registered.lastFiredAt - t0) / 1000);
  ctx.log(
    `registered ${users.length} users (an inbox entry each: ${welcome.ids.length} multicasts of up to ` +
      `${size.perRequest}) in ${round(registerSec, 1)} s, ${Math.round(registered.stored / registerSec)} rows/s; ` +
      `${registered.stored} rows`,
  );

  ctx.log(`connecting ${online} of them over ${workers.length} client processes`);
  const opened = await openSpread(ctx, workers, users.slice(0, online), {
    urls: [s.server.url],
    device: 'd',
    concurrency: 200,
    timeoutMs: 240_000,
    pingMs: PING_MS,
  });
  if (opened.failed) throw new Error(`${opened.failed} connections failed: ${JSON.stringify(opened.errors)}`);
  ctx.log(`${opened.opened} online in ${round(opened.ms / 1000, 1)} s`);
  await Promise.all(workers.map((w) => w.call('watchNotices', { prefix: s.watch })));
  await sleep(500);

  const runs: BroadcastRun[] = [];
  const curves: number[][] = [];
  for (let b = 0; b < size.broadcasts; b++) {
    const { run, curve } = await broadcastOnce(s, b, opened.opened);
    runs.push(run);
    curves.push(curve);
    ctx.log(
      `broadcast ${b + 1}/${size.broadcasts}: ${run.devices}/${run.online} devices; from the request p50 ` +
        `${run.fromRequest.p50} p99 ${run.fromRequest.p99} max ${run.fromRequest.max} ms (from the 201: p50 ` +
        `${run.fromAnswer.p50} p99 ${run.fromAnswer.p99}; ${run.beforeAnswer} before it); request ${run.requestMs} ms; ` +
        `rows written ${run.stored}`,
    );
    await sleep(300);
  }

  // A new device's first sync for offline registered users: a new connection each, GetDiff from the empty key.
  const offline = users.length - online;
  const samples = Math.min(size.offlineSamples, offline);
  const picked = Array.from(
    { length: samples },
    (_, j) => users[online + Math.floor(((j + 0.5) * offline) / samples)]!,
  );
  const per = Math.ceil(online / workers.length);
  const o = await workers[0]!.call(
    'open',
    {
      urls: [s.server.url],
      users: picked,
      device: 'new',
      localAddresses: sourceAddresses(0, per + samples),
      concurrency: 1,
      auth: ctx.auth,
      timeoutMs: 30_000,
      pingMs: PING_MS,
      wantConnIds: false,
    },
    60_000,
  );
  if (o.failed) throw new Error(`offline users' connections failed: ${JSON.stringify(o.errors)}`);
  const syncs = await workers[0]!.call(
    'firstSync',
    { socks: Array.from({ length: samples }, (_, j) => o.first + j), limit: 100, timeoutMs: 60_000 },
    90_000,
  );
  const broadcastIds = runs.map((_, b) => `${s.watch}bc${b}`);
  const seqsByBroadcast = new Map<string, Set<number>>();
  let sawAll = true;
  let sawWelcome = true;
  for (const sample of syncs) {
    for (const id of broadcastIds) {
      const found = sample.notices.filter((n) => n.messageId === id && n.stream === 'system');
      if (found.length !== 1) sawAll = false;
      for (const n of found) {
        const seqs = seqsByBroadcast.get(id) ?? new Set();
        seqs.add(n.seq);
        seqsByBroadcast.set(id, seqs);
      }
    }
    if (!sample.notices.some((n) => n.messageId.startsWith(`${ctx.runId}-welcome-`) && n.stream === 'inbox'))
      sawWelcome = false;
  }
  const firstPage = histogramOf(syncs.map((x) => x.firstPageMs)).summary();
  const whole = histogramOf(syncs.map((x) => x.wholeMs)).summary();
  ctx.log(
    `offline users' first sync (${syncs.length} new devices): first page p50 ${firstPage.p50} max ${firstPage.max} ms, ` +
      `whole p50 ${whole.p50} max ${whole.max} ms; every broadcast in each, one seq each: ${sawAll}`,
  );
  return {
    registered: users.length,
    online: opened.opened,
    connectSec: round(opened.ms / 1000, 1),
    clientProcesses: workers.length,
    registration: {
      how:
        'every registered user has an inbox entry: a normal-priority "welcome" multicast to all of them, in ' +
        `requests of ${size.perRequest}, written whole before the online users connect`,
      multicasts: welcome.ids.length,
      rows: registered.stored,
      seconds: round(registerSec, 1),
      rowsPerSec: Math.round(registered.stored / registerSec),
    },
    broadcasts: runs,
    worst: {
      p99FromRequestMs: Math.max(...runs.map((r) => r.fromRequest.p99)),
      p99FromAnswerMs: Math.max(...runs.map((r) => r.fromAnswer.p99)),
      lastDeviceMs: Math.max(...runs.map((r) => r.lastDeviceMs)),
      storedPerBroadcast: Math.max(...runs.map((r) => r.stored)),
    },
    complete: runs.every((r) => r.devices === r.online),
    offlineFirstSync: {
      samples: syncs.length,
      firstPageMs: firstPage,
      wholeMs: whole,
      pagesPerUser: Math.max(0, ...syncs.map((x) => x.pages)),
      messagesPerUser: Math.max(0, ...syncs.map((x) => x.messages)),
      everyBroadcastOnce: sawAll,
      /** Distinct seqs each broadcast had across the sampled users: 1 = one row, read by everyone. */
      seqsPerBroadcast: Math.max(0, ...[...seqsByBroadcast.values()].map((x) => x.size)),
      welcomeInInbox: sawWelcome,
    },
    curves,
  };
}

// ---- (2) priority lane ----

interface UnicastRun {
  unicasts: number;
  received: number;
  fromRequest: Percentiles;
  fromAnswer: Percentiles;
  requestMs: Percentiles;
  beforeAnswer: number;
  /** Unicasts sent while the multicast was still being written (its last chunk not yet fired). */
  duringMulticast?: number;
  /** The server's event-loop delay while the unicasts ran (from the first request to the last receipt). */
  serverLoopDelayMs: { p50: number; p99: number; max: number };
  /** Where the server's main thread spent that time. */
  serverThread: ThreadTime | undefined;
}

/** K high-priority unicasts to `user`, one every UNICAST_GAP_MS whatever the answers do; receipt on its device. */
async function unicasts(s: Setup, user: string, tag: string, k: number) {
  const ids = Array.from({ length: k }, (_, i) => `${s.watch}${tag}${i}`);
  await s.server.child.call('loopDelay', {});
  const thread = watchThread(s.server.pid);
  const t0 = wallMs() + 10;
  const sent = await Promise.all(
    ids.map(async (id, i) => {
      await sleep(Math.max(0, t0 + i * UNICAST_GAP_MS - wallMs()));
      const sentAt = wallMs();
      await s.api.send({ message_id: id, target: { users: [user] }, content: CONTENT, priority: 'high' });
      return { id, sentAt, answeredAt: wallMs() };
    }),
  );
  const deadline = wallMs() + UNICAST_WAIT_MS;
  while ((await receivedCount(s.workers, ids)) < k && wallMs() < deadline) await sleep(10);
  const serverThread = thread.stop();
  const serverLoopDelayMs = await s.server.child.call('loopDelay', {});
  const receipts = await takeReceipts(s.workers, ids);
  const fromRequest: number[] = [];
  const fromAnswer: number[] = [];
  for (const x of sent) {
    const at = receipts.get(x.id)?.[0];
    if (at === undefined) continue;
    fromRequest.push(at - x.sentAt);
    fromAnswer.push(at - x.answeredAt);
  }
  const run: UnicastRun = {
    unicasts: k,
    received: fromRequest.length,
    fromRequest: histogramOf(fromRequest).summary(),
    fromAnswer: histogramOf(fromAnswer).summary(),
    requestMs: histogramOf(sent.map((x) => x.answeredAt - x.sentAt)).summary(),
    beforeAnswer: fromAnswer.filter((ms) => ms < 0).length,
    serverLoopDelayMs,
    serverThread,
  };
  return { run, sent };
}

async function priorityLane(s: Setup, size: (typeof SIZES)['default'], users: string[], unicastUser: string) {
  const { ctx } = s;
  const k = size.unicasts;
  const baseline = (await unicasts(s, unicastUser, 'base', k)).run;
  ctx.log(
    `unicasts with nothing else going on: ${baseline.received}/${k} received; from the request p50 ` +
      `${baseline.fromRequest.p50} p99 ${baseline.fromRequest.p99} max ${baseline.fromRequest.max} ms; requests p50 ` +
      `${baseline.requestMs.p50} ms; server loop delay p99 ${baseline.serverLoopDelayMs.p99} ms`,
  );
  const contended = await contendedUnicasts(s, size, users, unicastUser, 'lane');
  ctx.log(
    `unicasts during a low-priority multicast to ${contended.multicast.users}: ${contended.run.received}/${k} ` +
      `received (${contended.run.duringMulticast} sent while it was written); from the request p50 ` +
      `${contended.run.fromRequest.p50} p99 ${contended.run.fromRequest.p99} max ${contended.run.fromRequest.max} ms ` +
      `(from the 201: p50 ${contended.run.fromAnswer.p50} p99 ${contended.run.fromAnswer.p99}; requests p50 ` +
      `${contended.run.requestMs.p50} p99 ${contended.run.requestMs.p99} ms; server loop delay p99 ` +
      `${contended.run.serverLoopDelayMs.p99} max ${contended.run.serverLoopDelayMs.max} ms; server main thread: ` +
      `${threadLine(contended.run.serverThread)}); ` +
      `the multicast written whole in ${contended.multicast.writtenSec} s (${contended.multicast.rowsPerSec} rows/s)`,
  );
  return {
    unicastUser,
    gapMs: UNICAST_GAP_MS,
    baseline,
    duringMulticast: contended.run,
    multicast: contended.multicast,
  };
}

async function contendedUnicasts(
  s: Setup,
  size: (typeof SIZES)['default'],
  users: string[],
  unicastUser: string,
  tag: string,
) {
  const laneUsers = users.slice(0, Math.min(users.length, size.laneUsers));
  const startAt = wallMs();
  let firstAccepted!: () => void;
  const accepted = new Promise<void>((resolve) => (firstAccepted = resolve));
  const mc = multicast(s, laneUsers, size.perRequest, 'low', `${s.ctx.runId}-${tag}-`, firstAccepted);
  // A failed multicast must not leave the unicasts waiting for its first answer.
  mc.catch(() => firstAccepted());
  await accepted;
  const uni = await unicasts(s, unicastUser, tag, size.unicasts);
  const { ids, requestMs } = await mc;
  const written = await waitAllSent(s.api, ids, Math.max(60_000, laneUsers.length * 5), 100);
  if (!written.allSent) throw new Error(`the multicast: ${written.sent} of ${ids.length} requests sent in time`);
  const writtenSec = Math.max(0.001, (written.lastFiredAt - startAt) / 1000);
  uni.run.duringMulticast = uni.sent.filter((x) => x.sentAt < written.lastFiredAt).length;
  return {
    run: uni.run,
    multicast: {
      users: laneUsers.length,
      requests: ids.length,
      requestMs: histogramOf(requestMs).summary(),
      rows: written.stored,
      writtenSec: round(writtenSec, 2),
      rowsPerSec: Math.round(written.stored / writtenSec),
      devicesLive: written.delivered,
    },
  };
}

// ---- (3) API throughput ----

interface Step {
  offered: number;
  planned: number;
  sent: number;
  accepted: number;
  errors: Record<string, number>;
  /** Accepted notices per second, over the time from the step's start to its last answer. */
  acceptedPerSec: number;
  /** Send to answer, accepted requests. */
  requestMs: Percentiles;
  /** From the time each request was due to its answer (includes waiting for a free slot: maxInFlight). */
  fromScheduleMs: Percentiles;
  clientMaxLateMs: number;
  /** Until the server had fired every notice accepted in the step (im_notices_total sent), from the step's start. */
  allFiredSec: number | null;
  firedPerSec: number | null;
  serverCpuMsPerNotice: number | null;
  /** Cores the server process used from the step's start until all was fired (the firing drains after the load). */
  serverCores: number;
  /** Cores it used while the requests were being sent and answered. */
  serverCoresDuringLoad: number;
  /** Where the server's main thread spent the load's wall time: on a CPU, waiting for one, in disk wait, asleep. */
  serverThreadDuringLoad: ThreadTime | undefined;
  machineCpuDuringLoad: number;
  /** Cores used by every other process on the machine (not the server, the client processes or the bench). */
  otherCoresDuringLoad: number;
  /** The server's event-loop delay from the step's start until all was fired: how long ready work waited. */
  serverLoopDelayMs: { p50: number; p99: number; max: number };
  machineCpu: number;
  /** Each client process's CPU (share of a core) while it sent. */
  clientCores: number[];
  saturated: string | null;
}

async function throughputStep(
  s: Setup,
  size: (typeof SIZES)['default'],
  users: number,
  rate: number,
  stepSec: number,
  step: number,
  firstUser: number,
): Promise<Step> {
  const { server, workers } = s;
  const W = workers.length;
  const before = await server.child.call('notices', {});
  const cpuBefore = await server.child.call('cpuTimeMs', {});
  const cpuBeforeAt = wallMs();
  await server.child.call('loopDelay', {});
  const meter = new CpuMeter();
  const loadMeter = new CpuMeter();
  const benchCpu = process.cpuUsage();
  const thread = watchThread(server.pid);
  const startAt = wallMs() + 200;
  const results = await Promise.all(
    workers.map((w, i) =>
      w.call(
        'noticeLoad',
        {
          baseUrl: s.baseUrl,
          appId: s.app.id,
          secret: s.app.secret,
          rate: rate / W,
          durationMs: stepSec * 1000,
          startAt,
          userPrefix: `${s.ctx.runId}u`,
          users,
          firstUser: firstUser + i,
          userStride: W,
          messagePrefix: `${s.ctx.runId}-t${step}-${i}-`,
          priority: 'normal',
          maxInFlight: Math.max(1, Math.floor(size.maxInFlight / W)),
          timeoutMs: 30_000,
        },
        stepSec * 1000 + 90_000,
      ),
    ),
  );
  const serverThreadDuringLoad = thread.stop();
  const machineCpuDuringLoad = loadMeter.sample();
  const benchUsage = process.cpuUsage(benchCpu);
  const cpuAtLoadEnd = await server.child.call('cpuTimeMs', {});
  const loadMs = wallMs() - cpuBeforeAt;
  const serverCoresDuringLoad = round((cpuAtLoadEnd - cpuBefore) / loadMs, 2);
  const benchCores = (benchUsage.user + benchUsage.system) / 1000 / loadMs;
  const clientCores = results.map((r) => r.cpu);
  // Everything else on the machine (other people's processes too), while the load ran.
  const otherCoresDuringLoad = round(
    Math.max(0, machineCpuDuringLoad * cpus().length - serverCoresDuringLoad - sum(clientCores) - benchCores),
    2,
  );
  const accepted = sum(results.map((r) => r.accepted));
  const lastAnswerAt = Math.max(...results.map((r) => r.lastAnswerAt));
  const errors: Record<string, number> = {};
  for (const r of results) for (const [k, v] of Object.entries(r.errors)) errors[k] = (errors[k] ?? 0) + v;
  // Firing runs after the answer: wait until the server has fired every notice it accepted in the step.
  const firedOf = async () => ((await server.child.call('notices', {})).sent ?? 0) - (before.sent ?? 0);
  const drainDeadline = wallMs() + STEP_DRAIN_MS;
  let fired = await firedOf();
  while (fired < accepted && wallMs() < drainDeadline) {
    await sleep(50);
    fired = await firedOf();
  }
  const firedAt = wallMs();
  const allFired = fired >= accepted;
  const cpuMs = (await server.child.call('cpuTimeMs', {})) - cpuBefore;
  const serverLoopDelayMs = await server.child.call('loopDelay', {});
  const machineCpu = meter.sample();
  const requestMs = new Histogram();
  const fromSchedule = new Histogram();
  for (const r of results) {
    requestMs.merge(r.latency);
    fromSchedule.merge(r.fromSchedule);
  }
  const planned = sum(results.map((r) => r.planned));
  const acceptedSec = Math.max(stepSec, (lastAnswerAt - startAt) / 1000);
  const clientMaxLateMs = round(Math.max(...results.map((r) => r.maxLateMs)), 1);
  const sched = fromSchedule.summary();
  const saturated =
    accepted < 0.99 * planned
      ? `only ${accepted} of ${planned} requests accepted (${JSON.stringify(errors)})`
      : sched.p99 > SATURATED_P99_MS
        ? `p99 from the schedule ${sched.p99} ms > ${SATURATED_P99_MS} ms`
        : !allFired
          ? `firing fell behind: ${fired} of ${accepted} fired ${STEP_DRAIN_MS / 1000} s after the step`
          : null;
  return {
    offered: rate,
    planned,
    sent: sum(results.map((r) => r.sent)),
    accepted,
    errors,
    acceptedPerSec: Math.round(accepted / acceptedSec),
    requestMs: requestMs.summary(),
    fromScheduleMs: sched,
    clientMaxLateMs,
    allFiredSec: allFired ? round((firedAt - startAt) / 1000, 2) : null,
    firedPerSec: allFired ? Math.round(accepted / Math.max(stepSec, (firedAt - startAt) / 1000)) : null,
    serverCpuMsPerNotice: accepted > 0 ? round(cpuMs / accepted, 3) : null,
    serverCores: round(cpuMs / (firedAt - cpuBeforeAt), 2),
    serverCoresDuringLoad,
    serverThreadDuringLoad,
    serverLoopDelayMs,
    machineCpu,
    machineCpuDuringLoad,
    otherCoresDuringLoad,
    clientCores,
    saturated,
  };
}

async function throughput(s: Setup, size: (typeof SIZES)['default'], users: number, rates: number[], stepSec: number) {
  const steps: Step[] = [];
  let firstUser = 0;
  for (const [i, rate] of rates.entries()) {
    const step = await throughputStep(s, size, users, rate, stepSec, i, firstUser);
    firstUser += step.planned;
    steps.push(step);
    s.ctx.log(
      `${rate} notices/s offered: ${step.accepted}/${step.planned} accepted, ${step.acceptedPerSec}/s; request ` +
        `p50 ${step.requestMs.p50} p99 ${step.requestMs.p99} ms (from the schedule p99 ${step.fromScheduleMs.p99}); ` +
        `all fired after ${step.allFiredSec ?? '-'} s; server ${step.serverCpuMsPerNotice ?? '-'} ms CPU per ` +
        `notice, ${step.serverCoresDuringLoad} cores during the load, ${step.serverCores} until all fired, loop delay p99 ${step.serverLoopDelayMs.p99} max ` +
        `${step.serverLoopDelayMs.max} ms; server main thread during the load: ` +
        `${threadLine(step.serverThreadDuringLoad)}; clients ${step.clientCores.join('/')} cores, other processes ` +
        `${step.otherCoresDuringLoad} cores; machine ${Math.round(step.machineCpuDuringLoad * 100)}% during the load` +
        (step.saturated ? ` - saturated: ${step.saturated}` : ''),
    );
    if (step.saturated) break;
    await sleep(500);
  }
  return { steps, usersCycled: firstUser };
}

// ---- the scenario ----

export async function notices(ctx: Ctx) {
  const startedAt = new Date().toISOString();
  profiles = {};
  const size = SIZES[ctx.size];
  const N = ctx.flags.users ?? size.users;
  const M = Math.min(N, ctx.flags.clients ?? size.online);
  const rates = ctx.flags.rates ?? size.rates;
  const stepSec = ctx.flags.stepSec ?? size.stepSec;
  const workerCount = Math.max(ctx.flags.workers ?? WORKERS, Math.ceil(M / SOCKETS_PER_WORKER));
  const disk = embeddedStores().find((x) => x.name === 'embedded, disk')!;
  const operatorToken = randomBytes(24).toString('base64url');
  ctx.log(
    `notices: ${N} registered users, ${M} online on ${workerCount} client processes; data directory on disk; ` +
      `${size.broadcasts} broadcasts; ${size.unicasts} unicasts against a multicast to ${Math.min(N, size.laneUsers)}; ` +
      `${rates.join('/')} notices/s for ${stepSec} s each`,
  );
  const workers = startWorkers(ctx, workerCount);
  let server: GatewayServer | undefined;
  const users = Array.from({ length: N }, (_, i) => `${ctx.runId}u${i}`);
  let reach: Awaited<ReturnType<typeof broadcastReach>>;
  let lane: Awaited<ReturnType<typeof priorityLane>>;
  let api: Awaited<ReturnType<typeof throughput>>;
  let targets: Target[];
  try {
    server = await startGatewayServer(ctx, { ...disk.env, IM_OPERATOR_TOKEN: operatorToken });
    const baseUrl = server.url.replace(/^ws/, 'http');
    const operator = new OperatorClient({ baseUrl, token: operatorToken });
    const app = await operator.createApp({
      name: 'bench notices',
      scopes: ['unicast', 'multicast', 'broadcast', 'read'],
      rate_limits: { requests_per_second: 1_000_000, recipients_per_second: 1_000_000 },
    });
    const s: Setup = {
      ctx,
      server,
      baseUrl,
      workers,
      app: { id: app.id, secret: app.secret },
      api: new NoticeApiClient({ baseUrl, appId: app.id, secret: app.secret, timeoutMs: 60_000 }),
      watch: `${ctx.runId}w-`,
      profileBase: join(ctx.out, `notices-${stamp(new Date(startedAt))}`),
    };
    reach = await broadcastReach(s, size, users, M);
    lane = await priorityLane(s, size, users, users[0]!);
    api = await throughput(s, size, N, rates, stepSec);
    targets = targetsOf(reach, lane, api.steps);

    // A missed target: that part once more with the server's CPU profiled.
    const missed = (prefix: string) => targets.some((t) => t.name.startsWith(prefix) && t.met === false);
    if (missed('broadcast')) {
      await profiled(s, 'broadcast', () => broadcastOnce(s, size.broadcasts, reach.online));
    }
    if (missed('priority lane')) {
      await profiled(s, 'priority lane', () => contendedUnicasts(s, size, users, users[0]!, 'lane-profiled'));
    }
    if (missed('API throughput')) {
      const top = api.steps.find((x) => x.saturated) ?? api.steps.at(-1)!;
      await profiled(s, 'API throughput', () =>
        throughputStep(s, size, N, top.offered, stepSec, rates.length, api.usersCycled),
      );
    }
    for (const t of targets) {
      const p = t.met === false ? profiles[Object.keys(profiles).find((k) => t.name.startsWith(k)) ?? ''] : undefined;
      if (p) {
        t.limitedBy =
          `${t.limitedBy ?? ''}; the server's top self-time functions (profiled re-run, figures.profiles): ` +
          `${profileLines(p, 5).join('; ')}; native time by caller: ${nativeLines(p, 3).join('; ')}`;
      }
    }
    await Promise.all(workers.map((w) => w.call('closeAll', { timeoutMs: 30_000 })));
  } finally {
    await stopAll(workers);
    await server?.child.stop();
    disk.remove();
  }

  const { curves, ...reachFigures } = reach;
  const charts: Chart[] = [
    {
      kind: 'line',
      title: `Broadcast to ${reach.online} online of ${reach.registered}: request to device`,
      xLabel: 'share of online devices that have it (%)',
      yLabel: 'ms since the request',
      series: curves.map((c, i) => ({
        name: `broadcast ${i + 1}`,
        color: PALETTE[i % PALETTE.length],
        points: quantileCurve(c),
      })),
      hLine: { y: TARGETS.broadcastP99Ms, label: `target p99 ${TARGETS.broadcastP99Ms} ms` },
    },
    {
      kind: 'bar',
      title: `High-priority unicasts, request to device: alone vs during a low multicast`,
      yLabel: 'ms',
      groups: (['p50', 'p99', 'max'] as const).map((key) => ({
        label: key,
        bars: [
          { name: 'no multicast', value: lane.baseline.fromRequest[key] },
          { name: 'during the multicast', value: lane.duringMulticast.fromRequest[key] },
        ],
      })),
      hLine: { y: TARGETS.laneP99Ms, label: `target p99 ${TARGETS.laneP99Ms} ms` },
    },
    {
      kind: 'line',
      title: 'Notice API: accepted vs offered (signed unicasts)',
      xLabel: 'offered notices per second',
      yLabel: 'per second',
      series: [
        { name: 'accepted/s', color: PALETTE[0], points: api.steps.map((x) => [x.offered, x.acceptedPerSec]) },
        {
          name: 'fired/s',
          color: PALETTE[2],
          dashed: true,
          points: api.steps.filter((x) => x.firedPerSec !== null).map((x) => [x.offered, x.firedPerSec!]),
        },
      ],
      hLine: { y: TARGETS.perSec, label: `target ${TARGETS.perSec}/s` },
    },
  ];
  return writeResult(
    ctx.out,
    {
      scenario: 'notices',
      title: 'System notices: broadcast reach, priority lane, API throughput',
      startedAt,
      command: ctx.command,
      size: ctx.size,
      mode: ['embedded, disk'],
      load: {
        registeredUsers: N,
        onlineUsers: M,
        clientProcesses: workerCount,
        gatewayProcesses: 1,
        store:
          'embedded mode on a data directory of its own on disk (IM_DATA_DIR=<tmp dir>, durability normal), as npm start keeps its data',
        broadcasts: size.broadcasts,
        broadcastsSent: 'one at a time, the next after every online device had the previous one',
        unicasts: size.unicasts,
        unicastGapMs: UNICAST_GAP_MS,
        laneMulticast: { users: lane.multicast.users, perRequest: size.perRequest, priority: 'low' },
        ratesOffered: rates,
        stepSec,
        maxInFlight: size.maxInFlight,
        throughputRequests:
          'signed unicasts from the client processes (signed as NoticeApiClient signs them, sent with node:http ' +
          'over keep-alive connections: fetch cost the client processes about 3 times the CPU per request, CPU ' +
          `they share with the server), open loop, each to a different registered user (round robin over all ${N}: ` +
          `${Math.round((100 * M) / N)}% of them online), normal priority`,
        appRateLimits: { requests_per_second: 1_000_000, recipients_per_second: 1_000_000 },
        heartbeatMs: PING_MS,
        saturationRule:
          `fewer than 99% of the requests accepted, or p99 from the schedule > ${SATURATED_P99_MS} ms, or the ` +
          `notices accepted in a step not all fired within ${STEP_DRAIN_MS / 1000} s after it`,
      },
      figures: {
        broadcast: reachFigures,
        priorityLane: lane,
        throughput: api.steps,
        profiles,
      },
      baselines: {
        bun: BUN_BASELINE,
        unicastsAlone: {
          description:
            'the same high-priority unicasts with no multicast running, in the same run (priorityLane.baseline)',
          fromRequest: lane.baseline.fromRequest,
        },
      },
      targets,
      notes: [
        'Times are wall clock (performance.timeOrigin + now()) taken in the bench process right before each request ' +
          'and right after its answer, and in the client processes as each frame is read: one clock, one machine. ' +
          'The targets use the time from the request (an upper bound of accept-to-device); from the 201 is reported ' +
          'beside it (a device may have a notice before the bench has read the 201).',
        'Registered users: each of the N has an inbox entry (a welcome multicast written to all of them, in requests ' +
          'of 10,000, before anything is measured); the first M of them are online. Offline users never connected ' +
          'before their first sync, which reads their inbox and the system timeline from the start.',
        'Rows written by a broadcast: its status counts.stored (1: one entry in the system timeline, whatever N), ' +
          "and in the offline users' first sync every broadcast comes from the system stream with one seq for all.",
        'The gateway server, the client processes and the bench share the 2 cores (nothing pinned); the client ' +
          "processes' CPU is in each throughput step (clientCores).",
      ],
    },
    charts,
    [
      `${N} registered, ${M} online; ${size.unicasts} unicasts every ${UNICAST_GAP_MS} ms; ` +
        `rates ${rates.join('/')} notices/s; embedded on disk`,
    ],
  );
}

function targetsOf(
  reach: Awaited<ReturnType<typeof broadcastReach>>,
  lane: Awaited<ReturnType<typeof priorityLane>>,
  steps: Step[],
): Target[] {
  const worst = reach.worst;
  const broadcast = checkTarget(
    `broadcast: request to each of ${reach.online} online devices, p99 (worst of ${reach.broadcasts.length} broadcasts)`,
    worst.p99FromRequestMs,
    '<=',
    TARGETS.broadcastP99Ms,
    'ms',
    'one event loop writes a Deliver frame to every connection in the "system" room; the client processes ' +
      'decoding them share the 2 cores',
  );
  if (!reach.complete) {
    broadcast.met = false;
    broadcast.by = `${broadcast.by ?? ''} not every online device got every broadcast within ${BROADCAST_WAIT_MS / 1000} s`;
  }
  const design = checkTarget(
    'broadcast: request to the last online device (design: < 3 s)',
    worst.lastDeviceMs,
    '<',
    TARGETS.designBroadcastMs,
    'ms',
  );
  const rows = checkTarget(
    'broadcast: rows written per broadcast (counts.stored)',
    worst.storedPerBroadcast,
    '<=',
    1,
    'rows',
  );
  const laneTarget = checkTarget(
    `priority lane: high-priority unicast, request to device, p99 during a low multicast to ${lane.multicast.users}`,
    lane.duringMulticast.fromRequest.p99,
    '<=',
    TARGETS.laneP99Ms,
    'ms',
    `alone in the same run: p99 ${lane.baseline.fromRequest.p99} ms; during the multicast the requests themselves ` +
      `took p50 ${lane.duringMulticast.requestMs.p50} p99 ${lane.duringMulticast.requestMs.p99} ms and the 201 to ` +
      `the device p99 ${lane.duringMulticast.fromAnswer.p99} ms, with the server's event loop delayed up to ` +
      `${lane.duringMulticast.serverLoopDelayMs.max} ms: each chunk of 500 recipients is written in one synchronous ` +
      'stretch (inbox rows and unread counts), up to 4 chunks run at once on the one JS thread, and a high task ' +
      `waits for those already running; the server's main thread meanwhile: ` +
      threadLine(lane.duringMulticast.serverThread),
  );
  if (lane.duringMulticast.received < lane.duringMulticast.unicasts) {
    laneTarget.met = false;
    laneTarget.by = `${laneTarget.by ?? ''} ${lane.duringMulticast.received}/${lane.duringMulticast.unicasts} received`;
  }
  const best = steps.reduce<Step | undefined>((a, x) => (!a || x.acceptedPerSec > a.acceptedPerSec ? x : a), undefined);
  const saturatedAt = steps.find((x) => x.saturated);
  const tp = checkTarget(
    'API throughput: accepted notices/s (highest of the steps)',
    best?.acceptedPerSec ?? null,
    '>=',
    TARGETS.perSec,
    'notices/s',
    best
      ? `CPU of the server process (one JS thread: HTTP, signature and nonce check, notice row, claim, firing, ` +
          `inbox row, delivery, all on SQLite statements run synchronously): ${best.serverCpuMsPerNotice ?? '-'} ms ` +
          `per notice accepted and fired at ${best.offered}/s offered, i.e. about ` +
          `${best.serverCpuMsPerNotice ? Math.round(1000 / best.serverCpuMsPerNotice) : '-'} notices/s per core; ` +
          `it used ${best.serverCoresDuringLoad} cores while the requests were answered, its main thread ` +
          `${threadLine(best.serverThreadDuringLoad)} (the machine ${Math.round(best.machineCpuDuringLoad * 100)}% ` +
          `busy, other processes ${best.otherCoresDuringLoad} cores, the client processes ` +
          `${round(sum(best.clientCores), 2)}); firing runs at most 4 lane tasks at once, each a chain of group ` +
          `commits, so it drained at ${best.firedPerSec ?? '-'}/s`
      : undefined,
  );
  if (tp.met === false && !saturatedAt) {
    // Not saturated: the rates offered stopped below the target.
    tp.met = null;
    tp.by = `not saturated at the highest rate offered (${steps.at(-1)?.offered ?? 0}/s): offer more to judge`;
  }
  if (saturatedAt && tp.met === false)
    tp.by = `${tp.by ?? ''}; saturated at ${saturatedAt.offered}/s offered: ${saturatedAt.saturated}`;
  return [broadcast, design, rows, laneTarget, tp];
}
