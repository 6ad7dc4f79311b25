// Starting the processes of a run: the system under test (embedded gateway or a cluster), the bare `ws`
// baseline, and client workers, each worker on its own 127.0.0.x source addresses.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCluster, type Cluster } from '../../app/cluster.ts';
import { describe as describeEngines } from '../../infra/engines.ts';
import type { WorkerApi } from '../clients/worker.ts';
import type { BareServerApi } from '../servers/bare-ws.ts';
import type { BareSocketServerApi } from '../servers/bare-socket.ts';
import type { BunServerApi } from '../servers/bun-ws.ts';
import { bunBinary } from './bun.ts';
import type { GatewayServerApi } from '../servers/gateway.ts';
import { Child } from './rpc.ts';
import type { Progress } from './progress.ts';
import { localAuth, localAuthEnv, type LocalAuth } from '../../lib/local-auth.ts';

export type Size = 'tiny' | 'default' | 'large';

export interface Ctx {
  size: Size;
  out: string;
  log: Progress;
  /** What signs the run's user tokens; every server of the run verifies with its key set (IM_AUTH_*). */
  auth: LocalAuth;
  /** Unique per run: prefixes user ids (cluster mode shares Cassandra with everyone). */
  runId: string;
  command: string;
  /** Flags given on the command line (overrides of the size's defaults). */
  flags: Flags;
  /** Every child's output lines (kept for a failure report), or printed with --verbose. */
  onLine: (line: string) => void;
}

export interface Flags {
  connections?: number;
  clients?: number;
  workers?: number;
  rates?: number[];
  stepSec?: number;
  /** idle: how long to hold the connections once all are open (a soak), in seconds. */
  holdSec?: number;
  /** idle: connections held at once across several gateway processes (0 skips that part). */
  spread?: number;
  pairs?: number;
  stormClients?: number;
  backlog?: number;
  /** notices: registered users (each with state in the server; --clients of them online). */
  users?: number;
  mode?: 'embedded' | 'cluster' | 'both';
}

/** One signing key for the whole run, in a temp dir, standing in for an auth server. */
export function useRunAuth(): LocalAuth {
  return localAuth(mkdtempSync(join(tmpdir(), 'im-bench-')));
}

/** Sockets per source address: well under the ephemeral port range (28,232 here), leaving room for TIME_WAIT. */
export const SOCKETS_PER_ADDRESS = 15_000;
/** Sockets per client worker: under the ~20,000 open files a process may hold. */
export const SOCKETS_PER_WORKER = 15_000;

/** The source addresses of worker `w` holding `sockets`: its own block of 127.0.0.x (x from 10 on). */
export function sourceAddresses(w: number, sockets: number): string[] {
  const n = Math.max(1, Math.ceil(sockets / SOCKETS_PER_ADDRESS));
  return Array.from({ length: n }, (_, j) => `127.0.0.${10 + w * 4 + j}`);
}

export type Worker = Child<WorkerApi>;

export function startWorkers(ctx: Ctx, count: number): Worker[] {
  return Array.from(
    { length: count },
    (_, i) => new Child<WorkerApi>(`client-${i + 1}`, 'bench/clients/worker.ts', { onLine: ctx.onLine }),
  );
}

export interface GatewayServer {
  child: Child<GatewayServerApi>;
  url: string;
  pid: number;
  env: Record<string, string>;
}

/** One way the embedded server keeps its data, with the IM_* variables that choose it. */
export interface EmbeddedStore {
  name: 'embedded' | 'embedded, disk';
  env: Record<string, string>;
  /** Removes what it kept (the data directory). */
  remove: () => void;
}

/**
 * The embedded server's two ways of keeping data, for a scenario to measure side by side in one run: in memory, and
 * on a data directory of its own (what keeping the data costs).
 */
export function embeddedStores(): EmbeddedStore[] {
  const dir = mkdtempSync(join(tmpdir(), 'im-bench-data-'));
  return [
    { name: 'embedded', env: { IM_DATA_DIR: ':memory:' }, remove: () => undefined },
    {
      name: 'embedded, disk',
      env: { IM_DATA_DIR: dir },
      remove: () => rmSync(dir, { recursive: true, force: true }),
    },
  ];
}

/** The embedded server (every service, one process) in a child of its own, started with --expose-gc. */
export async function startGatewayServer(ctx: Ctx, env: Record<string, string> = {}): Promise<GatewayServer> {
  const full = {
    IM_PORT: '0',
    IM_HOST: '127.0.0.1',
    IM_LOG_LEVEL: 'warn',
    IM_DRAIN_TIMEOUT_MS: '500',
    ...localAuthEnv(ctx.auth),
    // In memory unless a scenario measures the data directory (IM_DATA_DIR: a directory of its own).
    IM_DATA_DIR: ':memory:',
    ...env,
  };
  const child = new Child<GatewayServerApi>('gateway', 'bench/servers/gateway.ts', {
    env: full,
    nodeArgs: ['--expose-gc'],
    onLine: ctx.onLine,
  });
  const info = await child.call('info', {}, 60_000);
  return { child, url: info.url, pid: info.pid, env: full };
}

export interface BareServer {
  child: Child<BareServerApi>;
  url: string;
  pid: number;
}

export async function startBareServer(ctx: Ctx): Promise<BareServer> {
  const child = new Child<BareServerApi>('bare-ws', 'bench/servers/bare-ws.ts', {
    env: localAuthEnv(ctx.auth),
    nodeArgs: ['--expose-gc'],
    onLine: ctx.onLine,
  });
  const info = await child.call('info', {}, 60_000);
  return { child, url: info.url, pid: info.pid };
}

/** The Bun ceiling baseline (bench/servers/bun-ws.ts), or why it cannot run here (said in the run's log too). */
export async function startBunServer(ctx: Ctx) {
  const bun = bunBinary();
  if (!bun.available) {
    ctx.log(`bun: not measured: ${bun.reason}`);
    return { available: false as const, reason: bun.reason };
  }
  const child = new Child<BunServerApi>('bun', 'bench/servers/bun-ws.ts', {
    env: localAuthEnv(ctx.auth),
    bunPath: bun.path,
    onLine: ctx.onLine,
  });
  const info = await child.call('info', {}, 60_000);
  return { available: true as const, child, url: info.url, pid: info.pid, version: info.version };
}

/** The floor under the baselines: upgraded sockets held with no WebSocket layer (bench/servers/bare-socket.ts). */
export async function startBareSocketServer(ctx: Ctx) {
  const child = new Child<BareSocketServerApi>('bare-socket', 'bench/servers/bare-socket.ts', {
    nodeArgs: ['--expose-gc'],
    onLine: ctx.onLine,
  });
  const info = await child.call('info', {}, 60_000);
  return { child, url: info.url, pid: info.pid };
}

export interface Opened {
  opened: number;
  failed: number;
  errors: Record<string, number>;
  ms: number;
  connIds: string[];
  /** Per worker: the index of its first socket in this batch, and how many it got. */
  slices: { first: number; count: number }[];
  sourceAddresses: string[];
}

/**
 * Opens `users` spread evenly over `workers` (worker w gets the w-th slice), `device` for all, each worker on its
 * own source addresses; waits for every handshake (bounded by timeoutMs).
 */
export async function openSpread(
  ctx: Ctx,
  workers: Worker[],
  users: string[],
  o: {
    urls: string[];
    device: string;
    concurrency: number;
    timeoutMs: number;
    pingMs: number;
    wantConnIds?: boolean;
    /** Sockets each worker already holds (to pick enough source addresses). */
    already?: number;
  },
): Promise<Opened> {
  const per = Math.ceil(users.length / workers.length);
  const addresses: string[] = [];
  const results = await Promise.all(
    workers.map((w, i) => {
      const slice = users.slice(i * per, (i + 1) * per);
      const localAddresses = sourceAddresses(i, slice.length + (o.already ?? 0));
      addresses.push(...localAddresses);
      return w.call(
        'open',
        {
          urls: o.urls,
          users: slice,
          device: o.device,
          localAddresses,
          concurrency: o.concurrency,
          auth: ctx.auth,
          timeoutMs: o.timeoutMs,
          pingMs: o.pingMs,
          wantConnIds: o.wantConnIds ?? false,
        },
        o.timeoutMs + 30_000,
      );
    }),
  );
  const errors: Record<string, number> = {};
  for (const r of results) for (const [k, v] of Object.entries(r.errors)) errors[k] = (errors[k] ?? 0) + v;
  return {
    opened: results.reduce((a, r) => a + r.opened, 0),
    failed: results.reduce((a, r) => a + r.failed, 0),
    errors,
    ms: Math.max(...results.map((r) => r.ms)),
    connIds: results.flatMap((r) => r.connIds).filter(Boolean),
    slices: results.map((r, i) => ({ first: r.first, count: Math.min(per, Math.max(0, users.length - i * per)) })),
    sourceAddresses: [...new Set(addresses)],
  };
}

/**
 * Cluster mode for a scenario: every service its own process, 2 gateways, on BENCH_CLUSTER_BASE_PORT (default
 * 24400), with the run's dev key and its own Redis prefix. The engines must be up (npm run engines -- up).
 */
export async function startBenchCluster(ctx: Ctx, env: Record<string, string> = {}): Promise<Cluster> {
  const basePort = Number(process.env.BENCH_CLUSTER_BASE_PORT ?? 24400);
  ctx.log(`cluster: starting (engines must be up: npm run engines -- up), base port ${basePort}`);
  return startCluster({
    basePort,
    gateways: 2,
    env: {
      IM_LOG_LEVEL: 'warn',
      IM_REDIS_PREFIX: `${ctx.runId}:`,
      IM_DRAIN_TIMEOUT_MS: '500',
      ...env,
    },
    auth: ctx.auth,
    onLine: ctx.onLine,
  });
}

/** The engines' pids by name (describing them probes each engine: once per run, not per step). */
export async function enginePids(): Promise<Record<string, number>> {
  const engines = await describeEngines();
  return Object.fromEntries(Object.entries(engines).flatMap(([name, e]) => (e.pid ? [[name, e.pid]] : [])));
}

export async function stopAll(children: { stop(): Promise<void> }[]): Promise<void> {
  await Promise.all(children.map((c) => c.stop().catch(() => undefined)));
}
