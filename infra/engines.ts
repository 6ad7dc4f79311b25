// Local engines (Kafka, Cassandra, Elasticsearch, Redis) on 127.0.0.1, without Docker.
//   npm run engines -- up [kafka|cassandra|elasticsearch|redis ...]   (no names = all four)
//   npm run engines -- down [...]
//   npm run engines -- restart <name ...>
//   npm run engines -- status
// The same operations are exported for the test suite and cluster mode.
import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cassandra } from './cassandra.ts';
import {
  ENGINE_NAMES,
  endpoints,
  paths,
  startTimeoutMs,
  type EngineEndpoints,
  type EngineName,
} from './engine-config.ts';
import {
  EngineError,
  killProcess,
  portAcceptsConnections,
  rssBytes,
  runningPid,
  signalGroup,
  spawnDetached,
  stopProcess,
  waitUntilReady,
  withLock,
} from './engine-process.ts';
import type { Engine, Progress } from './engine-types.ts';
import { elasticsearch } from './elasticsearch.ts';
import { kafka } from './kafka.ts';
import { redis } from './redis.ts';

export { ENGINE_NAMES, endpoints, EngineError };
export type { EngineEndpoints, EngineName };

const engines: Record<EngineName, Engine> = { kafka, cassandra, elasticsearch, redis };
/** Covers a first-run download plus start-up of another caller holding the same engine's lock. */
const LOCK_TIMEOUT_MS = 20 * 60_000;

function select(names: readonly EngineName[] | undefined): EngineName[] {
  const list = names && names.length > 0 ? names : ENGINE_NAMES;
  for (const name of list) {
    if (!ENGINE_NAMES.includes(name))
      throw new Error(`unknown engine "${String(name)}" (known: ${ENGINE_NAMES.join(', ')})`);
  }
  return [...new Set(list)];
}

/** Runs fn for every engine in parallel; if any fails, throws one error naming each failed engine. */
async function forEach(names: EngineName[], fn: (engine: Engine) => Promise<void>): Promise<void> {
  const results = await Promise.allSettled(names.map((name) => fn(engines[name])));
  const failed = results.flatMap((r, i) =>
    r.status === 'rejected' ? [{ name: names[i], reason: r.reason as unknown }] : [],
  );
  if (failed.length === 0) return;
  const details = failed.map((f) => (f.reason instanceof Error ? f.reason.message : String(f.reason))).join('\n\n');
  throw new Error(`engine(s) failed: ${failed.map((f) => f.name).join(', ')}\n\n${details}`);
}

async function startOne(engine: Engine, onProgress: Progress): Promise<void> {
  const { name } = engine;
  const logFile = paths.log(name);
  const wait = (pid: number) =>
    waitUntilReady(() => engine.probe(), {
      engine: name,
      pid,
      logFile,
      timeoutMs: startTimeoutMs,
      what: engine.readiness,
      onProgress,
    });

  const existing = runningPid(paths.pid(name), engine.marker);
  if (existing !== undefined) {
    await wait(existing);
    onProgress(`[${name}] already running (pid ${existing})`);
    return;
  }
  for (const port of engine.ports) {
    if (await portAcceptsConnections('127.0.0.1', port)) {
      throw new EngineError(
        name,
        `port ${port} on 127.0.0.1 is already in use by a process not started by infra/engines.ts; ` +
          'stop it or choose other ports (IM_*_PORT variables, see infra/README.md)',
      );
    }
  }
  const spec = await engine.prepare(onProgress);
  const pid = spawnDetached({ ...spec, logFile, pidFile: paths.pid(name) });
  onProgress(`[${name}] started pid ${pid}, waiting for ${engine.readiness}; log: ${logFile}`);
  try {
    const tookMs = await wait(pid);
    await engine.afterReady?.();
    onProgress(`[${name}] up after ${(tookMs / 1000).toFixed(1)}s: ${engine.version()}`);
  } catch (err) {
    await stopProcess(pid, 5000); // do not leave a half-started engine behind
    throw err;
  }
}

/**
 * Starts the named engines (all when none given) in parallel and resolves when each one answers.
 * Idempotent: an engine that is already running is reused. Rejects naming every engine that failed,
 * with the tail of its log.
 */
export async function up(
  names?: EngineName[],
  opts?: { onProgress?: (line: string) => void },
): Promise<EngineEndpoints> {
  const onProgress = opts?.onProgress ?? (() => undefined);
  await forEach(select(names), (engine) =>
    withLock(
      paths.lock(engine.name),
      LOCK_TIMEOUT_MS,
      () => startOne(engine, onProgress),
      (owner) => onProgress(`[${engine.name}] waiting for process ${owner}, which is starting or stopping it`),
    ),
  );
  return endpoints;
}

/** Stops the named engines (all when none given). Data stays under .engines/data. */
export async function down(names?: EngineName[]): Promise<void> {
  await forEach(select(names), (engine) =>
    withLock(paths.lock(engine.name), LOCK_TIMEOUT_MS, async () => {
      const pid = runningPid(paths.pid(engine.name), engine.marker);
      if (pid !== undefined) await stopProcess(pid, engine.stopGraceMs);
      runningPid(paths.pid(engine.name), engine.marker); // clears the pid file
    }),
  );
}

/**
 * A crash, for fault injection (test/chaos/): kill -9 of each named engine's process group, no grace. With `wipe`, its data
 * directory is deleted too, so the next up() starts it empty. Resolves once the processes are gone.
 */
export async function crash(names: EngineName[], opts: { wipe?: boolean } = {}): Promise<void> {
  await forEach(select(names), (engine) =>
    withLock(paths.lock(engine.name), LOCK_TIMEOUT_MS, async () => {
      const pid = runningPid(paths.pid(engine.name), engine.marker);
      if (pid !== undefined) await killProcess(pid);
      runningPid(paths.pid(engine.name), engine.marker); // clears the pid file
      if (opts.wipe) rmSync(paths.data(engine.name), { recursive: true, force: true });
    }),
  );
}

/** Sends a signal to a running engine's process group (SIGSTOP / SIGCONT: a pause, for fault injection). */
export function signalEngine(name: EngineName, signal: NodeJS.Signals): void {
  const engine = engines[select([name])[0]!];
  const pid = runningPid(paths.pid(engine.name), engine.marker);
  if (pid === undefined) throw new EngineError(name, 'not running');
  signalGroup(pid, signal);
}

/** Stops and starts one engine, keeping its data directory. */
export async function restart(
  name: EngineName,
  opts?: { onProgress?: (line: string) => void },
): Promise<EngineEndpoints> {
  await down([name]);
  return up([name], opts);
}

export interface EngineInfo {
  state: 'up' | 'down' | 'not answering';
  pid?: number;
  rssBytes?: number;
  version: string;
}

/** Per engine: whether our process runs and answers, its pid, resident memory and version. */
export async function describe(): Promise<Record<EngineName, EngineInfo>> {
  const entries = await Promise.all(
    ENGINE_NAMES.map(async (name): Promise<[EngineName, EngineInfo]> => {
      const engine = engines[name];
      const pid = runningPid(paths.pid(name), engine.marker);
      if (pid === undefined) return [name, { state: 'down', version: engine.version() }];
      const answers = await Promise.race([
        engine.probe().catch(() => false),
        new Promise<boolean>((r) => setTimeout(() => r(false), 10_000).unref()),
      ]);
      return [
        name,
        { state: answers ? 'up' : 'not answering', pid, rssBytes: rssBytes(pid), version: engine.version() },
      ];
    }),
  );
  return Object.fromEntries(entries) as Record<EngineName, EngineInfo>;
}

export async function status(): Promise<Record<EngineName, 'up' | 'down'>> {
  const info = await describe();
  return Object.fromEntries(ENGINE_NAMES.map((n) => [n, info[n].state === 'up' ? 'up' : 'down'])) as Record<
    EngineName,
    'up' | 'down'
  >;
}

// ---------------------------------------------------------------- CLI

const ADDRESS: Record<EngineName, () => string> = {
  kafka: () => endpoints.kafka.brokers.join(','),
  cassandra: () => endpoints.cassandra.contactPoints.join(','),
  elasticsearch: () => endpoints.elasticsearch.node,
  redis: () => `${endpoints.redis.host}:${endpoints.redis.port}`,
};

async function printStatus(): Promise<boolean> {
  const info = await describe();
  for (const name of ENGINE_NAMES) {
    const i = info[name];
    const mem = i.rssBytes === undefined ? '' : `rss ${Math.round(i.rssBytes / 2 ** 20)} MiB`;
    const pid = i.pid === undefined ? '' : `pid ${i.pid}`;
    console.log(
      [name.padEnd(14), i.state.padEnd(14), ADDRESS[name]().padEnd(24), pid.padEnd(11), mem.padEnd(14), i.version].join(
        ' ',
      ),
    );
  }
  return ENGINE_NAMES.every((n) => info[n].state !== 'not answering');
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const names = rest as EngineName[];
  const t0 = Date.now();
  const onProgress = (line: string) => console.error(`+${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s ${line}`);
  switch (command) {
    case 'up':
      await up(names, { onProgress });
      onProgress('ready');
      await printStatus();
      return 0;
    case 'down':
      await down(names);
      onProgress('stopped');
      return 0;
    case 'restart':
      if (names.length === 0) throw new Error('restart needs engine names');
      for (const name of select(names)) await restart(name, { onProgress });
      await printStatus();
      return 0;
    case 'status':
      return (await printStatus()) ? 0 : 1;
    default:
      console.error(`usage: npm run engines -- <up|down|restart|status> [${ENGINE_NAMES.join('|')} ...]`);
      return 2;
  }
}

const invokedDirectly = process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (invokedDirectly) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(`\nerror: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    },
  );
}
