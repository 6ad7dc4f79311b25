// Scenario 2, fan-out: one gateway, N connected clients, messages delivered per second. The gateway gets one
// pre-encoded Deliver frame per round through its Deliver API (what push calls), for all N connections; the
// baseline is a bare `ws` server broadcasting the same bytes to the same number of clients in the same run
// (naive ws.send per socket, and corked per burst as a reference). Clients count frames; the figure is N x rounds
// over the time from the first send until the last client has them all.
import { Histogram } from '../lib/histogram.ts';
import { CpuMeter } from '../lib/machine.ts';
import { checkTarget, round, writeResult, type Target } from '../lib/result.ts';
import {
  openSpread,
  SOCKETS_PER_WORKER,
  startBareServer,
  startBunServer,
  startGatewayServer,
  startWorkers,
  stopAll,
  type Ctx,
  type Opened,
  type Worker,
} from '../lib/fleet.ts';
import type { Chart } from '../lib/svg.ts';

const SIZES = {
  tiny: { clients: 40, rounds: 10, reps: 1 },
  default: { clients: 2_000, rounds: 100, reps: 5 },
  large: { clients: 10_000, rounds: 100, reps: 3 },
};
const BODY_BYTES = 100;
const BURSTS = [1, 8];

interface Run {
  server: string;
  burst: number;
  deliveredPerSec: number;
  serverLoopPerSec: number;
  ms: number;
  complete: boolean;
  serverCpu: number;
  machineCpu: number;
}

/** One way of driving a server's fan-out (a server may have several: naive and corked). */
interface Variant {
  server: string;
  drive: (burst: number) => Promise<{ startAt: number; endAt: number; delivered: number; cpu: number }>;
}

/** A server under measurement: its clients (which socket indexes on which worker) and how to drive it. */
interface Contender {
  opened: Opened;
  variants: Variant[];
}

async function measure(workers: Worker[], opened: Opened, rounds: number, drive: () => ReturnType<Variant['drive']>) {
  await Promise.all(
    workers.map((w, i) =>
      w.call('countFrames', { target: rounds, from: opened.slices[i]!.first, count: opened.slices[i]!.count }),
    ),
  );
  const meter = new CpuMeter();
  const sent = await drive();
  const done = await Promise.all(workers.map((w) => w.call('waitFrames', { timeoutMs: 60_000 })));
  const machineCpu = meter.sample();
  const lastAt = Math.max(...done.map((d) => d.lastAt));
  const complete = done.every((d) => d.done === d.of) && done.reduce((a, d) => a + d.of, 0) === opened.opened;
  const frames = done.reduce((a, d) => a + d.frames, 0);
  const ms = Math.max(0.001, (complete ? lastAt : performance.timeOrigin + performance.now()) - sent.startAt);
  return {
    deliveredPerSec: Math.round(frames / (ms / 1000)),
    serverLoopPerSec: Math.round(sent.delivered / (Math.max(0.001, sent.endAt - sent.startAt) / 1000)),
    ms: round(ms, 1),
    complete,
    serverCpu: sent.cpu,
    machineCpu,
  };
}

export async function fanout(ctx: Ctx) {
  const startedAt = new Date().toISOString();
  const size = SIZES[ctx.size];
  const clients = ctx.flags.clients ?? size.clients;
  const { rounds, reps } = size;
  const workerCount = Math.max(2, ctx.flags.workers ?? Math.ceil(clients / SOCKETS_PER_WORKER));
  ctx.log(
    `fanout: ${clients} clients per server on ${workerCount} client processes, ${rounds} rounds of one ` +
      `${BODY_BYTES}-byte message per client, bursts of ${BURSTS.join(' and ')} rounds per tick, ${reps} ` +
      'repetitions taken in turns over the servers',
  );
  const workers = startWorkers(ctx, workerCount);
  const children: { stop(): Promise<void> }[] = [];
  const runs: Run[] = [];
  let bun: { available: true; version: string } | { available: false; reason: string } = {
    available: false,
    reason: 'not started',
  };
  // Heartbeats as a real client sends them: the gateway closes a connection silent for 60 s, and the servers take
  // turns for longer than that (a run whose connects were slow lost all the gateway's clients before its second turn).
  const open = { device: 'd', concurrency: 100, timeoutMs: 120_000, pingMs: 20_000 };
  const users = (tag: string) => Array.from({ length: clients }, (_, i) => `${ctx.runId}${tag}${i}`);
  const connect = async (label: string, url: string, wantConnIds = false) => {
    const opened = await openSpread(ctx, workers, users(label[0]!), { ...open, urls: [url], wantConnIds });
    ctx.log(`${label}: ${opened.opened} connected (${opened.failed} failed) in ${Math.round(opened.ms)} ms`);
    return opened;
  };
  try {
    // Every server holds its clients at once, and each repetition goes round the servers in turn: the servers are
    // compared over the same minutes (this VM's speed drifts by more than the differences sought).
    const contenders: Contender[] = [];
    const gw = await startGatewayServer(ctx);
    children.push(gw.child);
    const gwOpened = await connect('gateway', gw.url, true);
    contenders.push({
      opened: gwOpened,
      variants: [
        {
          server: 'gateway',
          drive: (burst) => gw.child.call('fanout', { connIds: gwOpened.connIds, rounds, bytes: BODY_BYTES, burst }),
        },
      ],
    });
    const bare = await startBareServer(ctx);
    children.push(bare.child);
    contenders.push({
      opened: await connect('bare ws', bare.url),
      variants: [false, true].map((cork) => ({
        server: cork ? 'bare ws corked' : 'bare ws',
        drive: (burst: number) => bare.child.call('fanout', { rounds, bytes: BODY_BYTES, burst, cork }),
      })),
    });
    const started = await startBunServer(ctx);
    bun = started.available ? { available: true, version: started.version } : started;
    if (started.available) {
      children.push(started.child);
      contenders.push({
        opened: await connect(`bun ${started.version}`, started.url),
        variants: [false, true].map((cork) => ({
          server: cork ? 'bun corked' : 'bun',
          drive: (burst: number) => started.child.call('fanout', { rounds, bytes: BODY_BYTES, burst, cork }),
        })),
      });
    }
    for (let rep = 0; rep < reps; rep++) {
      // Each repetition starts with the next server, so none always follows the same one (whose clients may still
      // be collecting the garbage of the last burst).
      const order = contenders.map((_, i) => contenders[(i + rep) % contenders.length]!);
      for (const { opened, variants } of order) {
        for (const burst of BURSTS) {
          for (const { server, drive } of variants) {
            const r = await measure(workers, opened, rounds, () => drive(burst));
            runs.push({ server, burst, ...r });
            ctx.log(
              `${server} burst ${burst} #${rep + 1}: ${r.deliveredPerSec} delivered/s${r.complete ? '' : ' (INCOMPLETE)'}`,
            );
          }
        }
      }
    }
  } finally {
    await stopAll([...workers, ...children]);
  }

  const median = (server: string, burst: number) => {
    const h = new Histogram();
    for (const r of runs) if (r.server === server && r.burst === burst) h.record(r.deliveredPerSec);
    return Math.round(h.quantile(0.5));
  };
  const servers = ['gateway', 'bare ws', 'bare ws corked', ...(bun.available ? ['bun', 'bun corked'] : [])];
  const byBurst = BURSTS.map((burst) => {
    const m = Object.fromEntries(servers.map((s) => [s, median(s, burst)]));
    return {
      burst,
      deliveredPerSec: m,
      ratioToBareWs: round(m.gateway! / Math.max(1, m['bare ws']!), 3),
      ratioToBareWsCorked: round(m.gateway! / Math.max(1, m['bare ws corked']!), 3),
      ratioToBun: bun.available ? round(m.gateway! / Math.max(1, m.bun!), 3) : null,
      ratioToBunCorked: bun.available ? round(m.gateway! / Math.max(1, m['bun corked']!), 3) : null,
    };
  });
  const headline = byBurst[0]!;
  const targets: Target[] = [
    checkTarget(
      'fan-out delivered/s as a ratio to bare ws (1 frame per client per tick)',
      headline.ratioToBareWs,
      '>=',
      1.0,
      'x',
      'the gateway does per connection what bare ws does plus a Map lookup by connId and a bufferedAmount check; ' +
        'on 2 cores the client processes counting frames share the CPU with the server',
    ),
    checkTarget(
      'fan-out delivered/s as a ratio to bare ws (8 frames per client per tick)',
      byBurst[1]!.ratioToBareWs,
      '>=',
      1.0,
      'x',
      'as above; here corking (one write per socket per tick) would help: see the corked baseline',
    ),
    checkTarget(
      'fan-out delivered/s as a ratio to Bun (1 frame per client per tick)',
      headline.ratioToBun,
      '>=',
      0.8,
      'x',
      bun.available
        ? "Bun's server is uWebSockets in C++: per socket a native send, no JS objects per connection"
        : `Bun not measured: ${bun.reason}`,
    ),
    checkTarget(
      'fan-out delivered/s, 8 frames per client per tick, as a multiple of the 1-frame rate',
      round(byBurst[1]!.deliveredPerSec.gateway! / Math.max(1, headline.deliveredPerSec.gateway!), 2),
      '>=',
      3,
      'x',
    ),
  ];
  const charts: Chart[] = [
    {
      kind: 'bar',
      title: `Fan-out to ${clients} clients (median of ${reps})`,
      yLabel: 'messages delivered per second',
      groups: byBurst.map((b) => ({
        label: `${b.burst} frame${b.burst > 1 ? 's' : ''}/client/tick`,
        bars: servers.map((s) => ({ name: s, value: b.deliveredPerSec[s]! })),
      })),
    },
  ];
  return writeResult(
    ctx.out,
    {
      scenario: 'fanout',
      title: `Fan-out: one gateway, ${clients} clients`,
      startedAt,
      command: ctx.command,
      size: ctx.size,
      mode: ['embedded'],
      load: {
        clients,
        rounds,
        repetitions: reps,
        bodyBytes: BODY_BYTES,
        bursts: BURSTS,
        gatewayProcesses: 1,
        clientProcesses: workerCount,
        messagesPerRun: clients * rounds,
      },
      figures: {
        byBurst,
        ratioToBareWs: headline.ratioToBareWs,
        ratioToBun: headline.ratioToBun,
        /** Runs in which some client did not get every frame (counted as 0/s in the medians). */
        incompleteRuns: runs.filter((r) => !r.complete).length,
        runs,
      },
      baselines: {
        bareWs: {
          description:
            'bare ws server: for each round, ws.send(frame) to every socket (naive); corked: socket.cork() ' +
            'at the first frame of a burst, uncork at the end of the burst',
          deliveredPerSec: Object.fromEntries(byBurst.map((b) => [`burst${b.burst}`, b.deliveredPerSec['bare ws']])),
        },
        bun: bun.available
          ? {
              ...bun,
              description:
                "Bun's built-in WebSocket server (Bun.serve, uWebSockets inside), the bun binary from npm: the same " +
                'token check and frames; for each round ws.send(frame) to every socket; corked: ws.cork() per socket ' +
                'around its burst',
              deliveredPerSec: Object.fromEntries(byBurst.map((b) => [`burst${b.burst}`, b.deliveredPerSec.bun])),
            }
          : bun,
      },
      targets,
      notes: [
        'Pre-encoded: one Deliver frame is encoded once (encodeDeliver, as push does per user) and handed to the ' +
          "gateway's Deliver API for every connection, in one item. The gateway frames it once and corks each " +
          "socket it writes to until the turn ends, so a turn's frames leave in one write per socket (decision " +
          '0013); the corked bare ws and Bun runs show what corking per burst gives those servers.',
        'delivered/s counts frames received by the clients, from the first send to the last client holding all of them.',
        'The servers hold their clients at once and each repetition goes round them in turn, starting with the next ' +
          'server each time: they are compared over the same minutes.',
      ],
    },
    charts,
    [`${clients} clients, ${rounds} rounds, ${BODY_BYTES}-byte message bodies`],
  );
}
