// Scenario 4, large group: one group of 5,000 members, everyone online (spread over client processes), one message
// at a time from the owner. Per message: the time from the send to its delivery on the last online member, and
// the Deliver calls the gateways answered for it (gateway-local rooms: one per gateway node, whatever the member
// count). Embedded mode (one gateway) and cluster mode (two gateways).
import { Histogram } from '../lib/histogram.ts';
import { sleep, wallMs } from '../lib/progress.ts';
import { checkTarget, round, writeResult, BUN_BASELINE, type Target } from '../lib/result.ts';
import {
  openSpread,
  startBenchCluster,
  startGatewayServer,
  startWorkers,
  stopAll,
  type Ctx,
  type Worker,
} from '../lib/fleet.ts';
import { PALETTE, type Chart } from '../lib/svg.ts';

const SIZES = {
  // The tiny run lowers the threshold so that its 30 members make a large group.
  tiny: { members: 30, messages: 3, workers: 2, largeAbove: 10 },
  default: { members: 5_000, messages: 20, workers: 2, largeAbove: 200 },
  large: { members: 5_000, messages: 100, workers: 2, largeAbove: 200 },
};
const CREATE_CHUNK = 500;
const WAIT_MS = 15_000;
const LAST_MEMBER_TARGET_MS = 500;
const WARMUP_TAG = 0xfffffff2;

interface System {
  name: string;
  urls: string[];
  /** Deliver calls with room frames, summed over the system's gateways. */
  roomCalls(): Promise<number>;
}

export interface MessageRun {
  /** Send (as the sending client stamped it) to the last online member's socket. */
  lastMemberMs: number;
  p50MemberMs: number;
  delivered: number;
  gatewayCalls: number;
}

async function deliveredFor(workers: Worker[], step: number): Promise<number> {
  return (await Promise.all(workers.map((w) => w.call('delivered', { step })))).reduce((a, b) => a + b, 0);
}

async function run(ctx: Ctx, sys: System, workers: Worker[], size: (typeof SIZES)['default']) {
  const members = ctx.flags.clients ?? size.members;
  const users = Array.from({ length: members }, (_, i) => `${ctx.runId}${sys.name[0]}m${i}`);
  ctx.log(`${sys.name}: connecting ${members} members over ${workers.length} client processes`);
  const opened = await openSpread(ctx, workers, users, {
    urls: sys.urls,
    device: 'd',
    concurrency: 200,
    timeoutMs: 120_000,
    pingMs: 10_000,
  });
  if (opened.failed)
    throw new Error(`${sys.name}: ${opened.failed} connections failed ${JSON.stringify(opened.errors)}`);
  ctx.log(`${sys.name}: ${opened.opened} connected in ${round(opened.ms / 1000, 1)} s; creating the group`);
  // The owner is users[0], the first socket of worker 0.
  const owner = opened.slices[0]!.first;
  const rest = users.slice(1);
  const t0 = wallMs();
  const [group] = await workers[0]!.call('createGroups', { owner, groups: [rest.slice(0, CREATE_CHUNK)] }, 60_000);
  await workers[0]!.call(
    'addMembers',
    { owner, group: group!, members: rest.slice(CREATE_CHUNK), chunk: CREATE_CHUNK },
    300_000,
  );
  const createSec = round((wallMs() - t0) / 1000, 1);
  const online = members - 1; // the owner's own copy does not count
  const send = (tag: number) =>
    workers[0]!.call(
      'sendMessages',
      { from: [owner], to: { group: group! }, count: 1, window: 1, tag, timeoutMs: 30_000 },
      40_000,
    );
  // Warm up until every member is in the room (devices join as push learns they are online).
  let warm = 0;
  for (let attempt = 1; attempt <= 3; attempt++) {
    await Promise.all(workers.map((w) => w.call('resetLatency', {})));
    await send(WARMUP_TAG);
    const deadline = wallMs() + 3_000;
    while ((warm = await deliveredFor(workers, WARMUP_TAG)) < online && wallMs() < deadline) await sleep(50);
    if (warm >= online) break;
    ctx.log(`${sys.name}: warm-up ${attempt}: ${warm}/${online} members got it; waiting for the rest to join`);
    await sleep(1_000);
  }
  if (warm < online) {
    const stats = await Promise.all(workers.map((w) => w.call('stats', {})));
    throw new Error(
      `${sys.name}: only ${warm} of ${online} members receive the group live; clients: ${JSON.stringify(stats)}`,
    );
  }
  ctx.log(`${sys.name}: group of ${members} created in ${createSec} s; every member receives it`);

  const runs: MessageRun[] = [];
  const all = new Histogram();
  const messages = size.messages;
  for (let step = 1; step <= messages; step++) {
    const callsBefore = await sys.roomCalls();
    const sent = await send(step);
    if (sent.ok !== 1) throw new Error(`${sys.name}: send failed ${JSON.stringify(sent.errors)}`);
    const deadline = wallMs() + WAIT_MS;
    let delivered: number;
    while ((delivered = await deliveredFor(workers, step)) < online && wallMs() < deadline) await sleep(5);
    const hist = new Histogram();
    for (const w of workers) hist.merge((await w.call('latency', { step })).hist);
    all.merge(hist);
    const gatewayCalls = (await sys.roomCalls()) - callsBefore;
    runs.push({
      lastMemberMs: round(hist.max, 2),
      p50MemberMs: round(hist.quantile(0.5), 2),
      delivered,
      gatewayCalls,
    });
    ctx.log(
      `${sys.name}: message ${step}/${messages}: last of ${delivered}/${online} members after ` +
        `${round(hist.max, 1)} ms (median member ${round(hist.quantile(0.5), 1)} ms), ${gatewayCalls} gateway calls`,
    );
  }
  await Promise.all(workers.map((w) => w.call('closeAll', { timeoutMs: 30_000 })));
  const last = new Histogram();
  for (const r of runs) last.record(r.lastMemberMs);
  return {
    members,
    online,
    connectSec: round(opened.ms / 1000, 1),
    createSec,
    runs,
    lastMember: last.summary(),
    perMember: all.summary(),
    complete: runs.every((r) => r.delivered === online),
    gatewayCallsPerMessage: round(runs.reduce((a, r) => a + r.gatewayCalls, 0) / runs.length, 2),
    gateways: sys.urls.length,
  };
}

async function healthRoomCalls(urls: string[]): Promise<number> {
  const counts = await Promise.all(
    urls.map(async (url) => {
      const res = await fetch(`${url.replace(/^ws/, 'http')}/healthz`);
      return ((await res.json()) as { roomCalls: number }).roomCalls;
    }),
  );
  return counts.reduce((a, b) => a + b, 0);
}

export async function group(ctx: Ctx) {
  const startedAt = new Date().toISOString();
  const size = SIZES[ctx.size];
  const mode = ctx.flags.mode ?? 'both';
  const workers = startWorkers(ctx, ctx.flags.workers ?? size.workers);
  const results: Record<string, Awaited<ReturnType<typeof run>>> = {};
  const env = { IM_SMALL_GROUP_MAX_MEMBERS: String(size.largeAbove), IM_MAX_GROUP_MEMBERS: '100000' };
  try {
    if (mode !== 'cluster') {
      const server = await startGatewayServer(ctx, env);
      try {
        results.embedded = await run(
          ctx,
          {
            name: 'embedded',
            urls: [server.url],
            roomCalls: async () => (await server.child.call('stats', {})).roomCalls,
          },
          workers,
          size,
        );
      } finally {
        await server.child.stop();
      }
    }
    if (mode !== 'embedded') {
      const cluster = await startBenchCluster(ctx, env);
      try {
        const urls = cluster.gateways.map((g) => g.url);
        results.cluster = await run(
          ctx,
          { name: 'cluster', urls, roomCalls: () => healthRoomCalls(urls) },
          workers,
          size,
        );
      } finally {
        await cluster.close();
      }
    }
  } finally {
    await stopAll(workers);
  }

  const targets: Target[] = [];
  for (const [name, r] of Object.entries(results)) {
    targets.push(
      checkTarget(
        `${name}: send to the last of ${r.online} online members, p99 over ${r.runs.length} messages`,
        r.lastMember.p99,
        '<=',
        LAST_MEMBER_TARGET_MS,
        'ms',
        name === 'cluster'
          ? 'the send path: gateway -> Kafka -> logic (Cassandra membership, seq, write) -> push -> gateways, in turn'
          : 'writing one frame to every online socket on one event loop',
      ),
      checkTarget(
        `${name}: Deliver calls per gateway node per message`,
        r.gatewayCallsPerMessage / r.gateways,
        '<=',
        1,
        'calls',
      ),
    );
  }
  const charts: Chart[] = [
    {
      kind: 'line',
      title: `Send to the last online member, per message (${Object.values(results)[0]?.members ?? 0} members)`,
      xLabel: 'message',
      yLabel: 'ms',
      series: Object.entries(results).map(([name, r], i) => ({
        name,
        color: PALETTE[i],
        points: r.runs.map((m, k) => [k + 1, m.lastMemberMs] as [number, number]),
      })),
      hLine: { y: LAST_MEMBER_TARGET_MS, label: `target ${LAST_MEMBER_TARGET_MS} ms` },
    },
  ];
  return writeResult(
    ctx.out,
    {
      scenario: 'group',
      title: 'Large group: send to the last online member',
      startedAt,
      command: ctx.command,
      size: ctx.size,
      mode: Object.keys(results),
      load: {
        members: Object.values(results)[0]?.members,
        messagesPerMode: size.messages,
        largeGroupAbove: size.largeAbove,
        clientProcesses: workers.length,
        sending: 'one message at a time from the owner, the next after the previous reached every member',
      },
      figures: results,
      baselines: { bun: BUN_BASELINE },
      targets,
      notes: [
        'Every member is online; the owner sends. A message is stored once in the group timeline and handed to ' +
          'each gateway once (a room frame); the gateway writes it to its connections in the room.',
        'Latency runs from the sending client stamping the message to each member socket reading it (wall clocks ' +
          'of processes on one machine).',
      ],
    },
    charts,
  );
}
