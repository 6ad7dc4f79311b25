// The faults a chaos run injects, each named by a spec ("kill:logic", "pause:gateway-1", "kill:kafka", "wipe:redis",
// "down:cassandra"), and the schedule that runs them one after another with a quiet gap between.
import type { Cluster } from '../../app/cluster.ts';
import { crash, signalEngine, up, type EngineName } from '../../infra/engines.ts';
import type { FaultRecord } from './history.ts';

export interface FaultTimings {
  /** How long a killed service process or gateway stays down before it is started again. */
  processDownMs: number;
  /** How long a SIGSTOP lasts before SIGCONT. */
  pauseMs: number;
  /** How long a killed engine stays down before it is started again (Cassandra's "down" fault: storeDownMs). */
  engineDownMs: number;
  storeDownMs: number;
}

export interface Fault {
  spec: string;
  name: string;
  target: string;
  storeDown: boolean;
  /** Injects the fault and undoes it; resolves when what it touched is healthy again. */
  run(cluster: Cluster): Promise<Pick<FaultRecord, 'endedAtMs' | 'readyAtMs'>>;
}

const ENGINES: readonly string[] = ['kafka', 'redis', 'cassandra'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const seconds = (ms: number) => `${+(ms / 1000).toFixed(1)} s`;

export function parseFault(spec: string, processes: readonly string[], t: FaultTimings): Fault {
  const [verb = '', target = ''] = spec.split(':');
  const isEngine = ENGINES.includes(target);
  if (!isEngine && !processes.includes(target))
    throw new Error(`fault "${spec}": no process or engine "${target}" (${[...processes, ...ENGINES].join(', ')})`);
  const make = (name: string, run: Fault['run'], storeDown = false): Fault => ({ spec, name, target, storeDown, run });
  if (verb === 'kill' && !isEngine) return make(`kill -9 ${target}`, (c) => killProcess(c, target, t.processDownMs));
  if (verb === 'pause' && !isEngine) return make(`SIGSTOP ${target} ${seconds(t.pauseMs)}`, (c) => pause(c, target, t));
  const engine = target as EngineName;
  if (verb === 'kill' && isEngine)
    return make(`kill -9 ${engine}`, () => killEngine(engine, t.engineDownMs, false), engine === 'cassandra');
  if (verb === 'wipe' && isEngine)
    return make(
      `kill -9 ${engine}, data wiped`,
      () => killEngine(engine, t.engineDownMs, true),
      engine === 'cassandra',
    );
  if (verb === 'down' && engine === 'cassandra')
    return make(`cassandra down ${seconds(t.storeDownMs)}`, () => killEngine(engine, t.storeDownMs, false), true);
  if (verb === 'pause' && isEngine)
    return make(`SIGSTOP ${engine} ${seconds(t.pauseMs)}`, () => pauseEngine(engine, t.pauseMs));
  throw new Error(`fault "${spec}": unknown (kill|pause:<process>, kill|wipe|pause:<engine>, down:cassandra)`);
}

async function killProcess(cluster: Cluster, name: string, downMs: number) {
  await cluster.kill(name, 'SIGKILL');
  await sleep(downMs);
  const endedAtMs = Date.now();
  await cluster.start(name);
  return { endedAtMs, readyAtMs: Date.now() };
}

async function pause(cluster: Cluster, name: string, t: FaultTimings) {
  const pid = cluster.pids()[name];
  if (pid === undefined) throw new Error(`${name} is not running`);
  process.kill(pid, 'SIGSTOP');
  try {
    await sleep(t.pauseMs);
  } finally {
    process.kill(pid, 'SIGCONT');
  }
  const at = Date.now();
  return { endedAtMs: at, readyAtMs: at };
}

async function killEngine(engine: EngineName, downMs: number, wipe: boolean) {
  await crash([engine], { wipe });
  await sleep(downMs);
  const endedAtMs = Date.now();
  await up([engine]);
  return { endedAtMs, readyAtMs: Date.now() };
}

async function pauseEngine(engine: EngineName, pauseMs: number) {
  signalEngine(engine, 'SIGSTOP');
  try {
    await sleep(pauseMs);
  } finally {
    signalEngine(engine, 'SIGCONT');
  }
  const at = Date.now();
  return { endedAtMs: at, readyAtMs: at };
}

export interface ScheduleHooks {
  /** How many times to run the cycle (0: until `stop`). */
  cycles: number;
  /** True once no fault should start any more. */
  stop(): boolean;
  /** The target a fault is being injected into, and undefined once it is undone. */
  busy(target: string | undefined): void;
  record(f: FaultRecord): void;
  log(line: string): void;
}

/**
 * Runs `cycle` over and over (or `cycles` times) until `stop`, a gap before each fault; each fault is recorded with its times. A fault
 * that fails to undo itself (a restart that never became healthy) ends the run: what follows would measure a broken
 * cluster, not the next fault.
 */
export async function runSchedule(cluster: Cluster, cycle: readonly Fault[], gapMs: number, h: ScheduleHooks) {
  const faults = h.cycles > 0 ? h.cycles * cycle.length : Number.POSITIVE_INFINITY;
  for (let i = 0; i < faults && cycle.length > 0; i++) {
    await sleep(gapMs);
    if (h.stop()) return;
    const fault = cycle[i % cycle.length]!;
    const startedAtMs = Date.now();
    const base = { name: fault.name, target: fault.target, startedAtMs, storeDown: fault.storeDown };
    h.log(`fault ${i + 1}: ${fault.name}`);
    h.busy(fault.target);
    try {
      const times = await fault.run(cluster);
      h.record({ ...base, ...times });
      const took = (at: number) => seconds(at - startedAtMs);
      h.log(
        `fault ${i + 1}: ${fault.name}: undone after ${took(times.endedAtMs)}, ready after ${took(times.readyAtMs)}`,
      );
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      h.record({ ...base, endedAtMs: Date.now(), readyAtMs: Date.now(), error });
      throw new Error(`fault ${fault.name} could not be undone: ${error}`, { cause: err });
    } finally {
      h.busy(undefined);
    }
  }
}
