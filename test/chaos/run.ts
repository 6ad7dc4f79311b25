// One chaos run: cluster mode on the chaos engines, the clients' load, faults on a schedule, the final syncs, the
// checker, the result files. Import only after isolation.ts has set the engines' variables (scripts/chaos.ts does).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Cluster } from '../../app/cluster.ts';
import { CLUSTER_PROCESSES } from '../../app/processes.ts';
import { markStart } from '../../bench/lib/result.ts';
import { down, endpoints } from '../../infra/engines.ts';
import { withLock } from '../../infra/engine-process.ts';
import { enginesHome, repoRoot } from '../../infra/engine-config.ts';
import { startTestCluster } from '../e2e/cluster-harness.ts';
import { check, type CheckReport } from './checker.ts';
import { parseFault, runSchedule, type FaultTimings } from './faults.ts';
import { readFromScratch, syncFromKeys } from './final-sync.ts';
import { connectDevices, createGroups, noticeApp, noticeLoop, sendLoop, type LoadOptions } from './load.ts';
import { population, type PopulationOptions } from './population.ts';
import { Recorder } from './recorder.ts';
import { writeChaosResult } from './report.ts';
import { supervise } from './supervisor.ts';

export interface ChaosOptions extends Omit<PopulationOptions, 'runId'>, LoadOptions {
  durationMs: number;
  /** Quiet time before each fault. */
  gapMs: number;
  /** No fault starts in the run's last tailMs; after the last cycle, the load runs this much longer. */
  tailMs: number;
  /** Run the fault cycle this many times, then stop tailMs later (0: faults until the duration is up). */
  cycles: number;
  faults: string[];
  timings: FaultTimings;
  smallGroupMax: number;
  /** How long the final syncs may take to find everything. */
  settleMs: number;
  out: string;
  command: string;
  keepEngines: boolean;
  log: (line: string) => void;
}

export interface ChaosResult {
  report: CheckReport;
  json: string;
  chart: string | undefined;
}

/** One chaos run at a time per engines home: a second would kill the first one's engines. */
const LOCK_WAIT_MS = 30_000;

export async function runChaos(o: ChaosOptions): Promise<ChaosResult> {
  const lock = join(enginesHome, 'run', 'chaos.lock');
  return withLock(
    lock,
    LOCK_WAIT_MS,
    () => runLocked(o),
    (owner) => o.log(`another chaos run (pid ${owner}) holds ${lock}; waiting up to ${LOCK_WAIT_MS / 1000} s`),
  );
}

async function runLocked(o: ChaosOptions): Promise<ChaosResult> {
  const t0 = Date.now();
  const log = (line: string) => o.log(`[chaos +${((Date.now() - t0) / 1000).toFixed(1)}s] ${line}`);
  if (enginesHome === join(repoRoot, '.engines'))
    throw new Error('chaos kills and wipes engines: it never runs on the shared ones in .engines (see isolation.ts)');
  process.env.IM_DEV_KEY_FILE ??= join(mkdtempSync(join(tmpdir(), 'im-chaos-')), 'dev-key.json');
  log(
    `engines in ${enginesHome}: Kafka ${endpoints.kafka.brokers[0]}, Redis ${endpoints.redis.port}, ` +
      `Cassandra ${endpoints.cassandra.port}; starting cluster mode`,
  );
  markStart();
  const cluster = await startTestCluster(
    {
      IM_SMALL_GROUP_MAX_MEMBERS: String(o.smallGroupMax),
      IM_LOG_LEVEL: process.env.IM_LOG_LEVEL ?? 'error',
    },
    { gateways: 2 },
  );
  // Cluster mode starts every engine; while no process of it uses Elasticsearch, its memory and cores go to the run.
  const engines = Object.values(CLUSTER_PROCESSES).flatMap((p): readonly string[] => p.engines);
  if (!engines.includes('elasticsearch')) await down(['elasticsearch']);
  try {
    return await drive(cluster, o, log);
  } finally {
    await cluster.close();
    if (!o.keepEngines) await down(['kafka', 'redis', 'cassandra', 'elasticsearch']);
  }
}

async function drive(cluster: Cluster, o: ChaosOptions, log: (line: string) => void): Promise<ChaosResult> {
  const startedAt = new Date().toISOString();
  const faults = o.faults.map((spec) => parseFault(spec, cluster.names(), o.timings));
  const runId = `c${Date.now().toString(36)}`;
  const pop = population({ ...o, runId });
  const rec = new Recorder();
  const target = {
    gateways: cluster.gateways.map((g) => g.url),
    token: (user: string, device: string) => cluster.token(user, device),
    noticeUrl: cluster.noticeUrl,
    operatorToken: cluster.operatorToken,
  };
  const devices = await connectDevices(pop, target, o, rec);
  await createGroups(pop, devices, rec);
  const api = await noticeApp(target, runId);
  log(`${devices.length} devices of ${pop.users.length} users connected; ${pop.conversations.length} conversations`);

  let until = Date.now() + o.durationMs;
  let aborted = false;
  const stop = () => aborted || Date.now() >= until;
  const supervisor = supervise(cluster, log);
  const progress = setInterval(() => log(status(rec)), 10_000);
  try {
    await Promise.all([
      ...devices.map((d) => sendLoop(d, pop, o, rec, stop)),
      noticeLoop(api, pop, o, rec, stop),
      runSchedule(cluster, faults, o.gapMs, {
        cycles: o.cycles,
        // No fault starts so late that the load would stop before it is undone and measured.
        stop: () => Date.now() >= until - o.tailMs,
        busy: supervisor.busy,
        record: (f) => rec.faults.push(f),
        log,
      }).then(
        // Every cycle ran: the load goes on for the tail, to measure the last fault's recovery.
        () => void (until = Math.min(until, Date.now() + o.tailMs)),
        (err: unknown) => {
          aborted = true;
          throw err;
        },
      ),
    ]);
  } finally {
    clearInterval(progress);
    supervisor.stop();
  }
  log(`load stopped: ${status(rec)}; final syncs`);
  await syncFromKeys(devices, rec, Date.now() + o.settleMs, log);
  await readFromScratch(devices, rec, Date.now() + o.settleMs, log);
  await Promise.all(devices.map((d) => d.client.close()));
  const history = rec.history();
  const report = check(history);
  const written = writeChaosResult(o.out, {
    startedAt,
    command: o.command,
    load: loadOf(o, pop, devices.length),
    history,
    report,
    notes: [...supervisor.deaths(), ...notes(o)],
  });
  log(`history of the run: ${written.history}`);
  return { report, json: written.json, chart: written.chart };
}

function status(rec: Recorder): string {
  const acked = rec.sends.filter((s) => s.ack).length;
  const pending = rec.sends.filter((s) => !s.ack && Date.now() - s.startedAtMs > 5_000).length;
  return `${acked} sends acknowledged, ${pending} pending over 5 s, ${rec.faults.length} faults done`;
}

function loadOf(o: ChaosOptions, pop: ReturnType<typeof population>, devices: number): Record<string, unknown> {
  const kinds = (k: string) => pop.conversations.filter((c) => c.kind === k).length;
  return {
    durationSec: o.durationMs / 1000,
    users: pop.users.length,
    devices,
    dms: kinds('dm'),
    smallGroups: kinds('small group'),
    largeGroups: kinds('large group'),
    largeGroupSize: o.largeGroupSize,
    smallGroupMaxMembers: o.smallGroupMax,
    thinkMs: o.thinkMs,
    noticeEveryMs: o.noticeEveryMs,
    sendTimeoutMs: o.sendTimeoutMs,
    gapMs: o.gapMs,
    faultCycle: o.faults,
    cycles: o.cycles || 'until the duration is up',
    timings: o.timings,
  };
}

function notes(o: ChaosOptions): string[] {
  return [
    'Every figure is from the clients: acknowledgements they were given and entries their devices showed or read.',
    'A device "shown" view is what its SDK showed live or by its own sync (after the run it syncs from its key until ' +
      `complete or ${o.settleMs / 1000} s); the "scratch" view is its whole history read again with an empty key.`,
    'Sends given up by the client (no acknowledgement within the send timeout) are never counted lost.',
    'Recovery: from the fault until every send it stalled (pending over 5 s) was acknowledged.',
  ];
}
