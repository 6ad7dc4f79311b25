// Cluster mode: the engines, then every service as its own process with gRPC between them.
//   npm run cluster                 engines + offline, sync, logic, push and 2 gateways; Ctrl-C stops them all
//   IM_CLUSTER_BASE_PORT=7400       gateways on base+1.., gRPC on base+11.., /healthz on gRPC port + 100,
//                                   the notice API (logic) on base+31
//   IM_OPERATOR_TOKEN               the notice API's operator credential (default: a new one, printed)
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import cassandra from 'cassandra-driver';
import { migrate } from '../infra/cassandra-migrate.ts';
import { endpoints, up } from '../infra/engines.ts';
import { ensureTopics } from '../infra/kafka-topics.ts';
import { putSearchTemplate } from '../infra/search-template.ts';
import { join } from 'node:path';
import { localAuth, localAuthEnv, localSigner, type LocalAuth } from '../lib/local-auth.ts';
import { topics } from '../lib/topics.ts';
import { ensureServiceCerts, identityEnv } from '../lib/service-certs.ts';
import { CLUSTER_PROCESSES } from './processes.ts';
import type { ServiceName } from './cluster/services.ts';
import { profileArgs } from './profile-args.ts';

/** Lines of a process's output kept for the error if it dies while starting. */
const LAST_LINES_KEPT = 20;

export interface ClusterOptions {
  basePort?: number;
  gateways?: number;
  /** Logic processes (default 1): more share chat_input's partitions and race for each notice's firing. */
  logics?: number;
  /** What signs user tokens, standing in for the deployment's auth server (default: the key in .data/cluster/auth). */
  auth?: LocalAuth;
  /** Extra IM_* variables for every service (e.g. short heartbeats in tests). */
  env?: Record<string, string>;
  /** Every line the services print, prefixed with the process name. */
  onLine?: (line: string) => void;
  /** A process that died without being told to (not kill(), close() or a fault injected), with its last lines. */
  onDeath?: (report: string) => void;
}

interface ProcessSpec {
  name: string;
  service: ServiceName;
  env: Record<string, string>;
  healthUrl: string;
}

export interface Cluster {
  gateways: { node: string; url: string }[];
  /** The notice API (served by logic: the first process's, and every logic process's) and the operator's credential. */
  noticeUrl: string;
  noticeUrls: string[];
  operatorToken: string;
  /** A user token from the cluster's auth (its key set is what the gateways verify with). */
  token(user: string, device: string, ttlSec?: number): string;
  auth: LocalAuth;
  /** Process names: offline, sync, logic, push, gateway-1, gateway-2, … */
  names(): string[];
  /** GET /metrics of every process (Prometheus text): the per-hop breakdown. */
  metricsUrls(): string[];
  isRunning(name: string): boolean;
  /** The pid of every running process, by name. */
  pids(): Record<string, number>;
  /** kill -9 (or another signal) and wait for the process to be gone. */
  kill(name: string, signal?: NodeJS.Signals): Promise<void>;
  /** Starts a stopped process again (with extra env for this start only) and waits for its health. */
  start(name: string, env?: Record<string, string>): Promise<void>;
  close(): Promise<void>;
}

const ROOT = new URL('..', import.meta.url).pathname;

/** Brings the engines up, prepares topics and schema, starts every service process and waits until each is healthy. */
export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const base = options.basePort ?? Number(process.env.IM_CLUSTER_BASE_PORT ?? 7400);
  const gatewayCount = options.gateways ?? 2;
  const logicCount = options.logics ?? 1;
  const onLine = options.onLine ?? ((line) => process.stdout.write(`${line}\n`));
  const engines = await up(undefined, {
    onProgress: (line) => onLine(`[engines] ${line}`),
  });
  await ensureTopics(engines.kafka.brokers, Object.values(topics));
  const cql = new cassandra.Client({
    contactPoints: engines.cassandra.contactPoints,
    localDataCenter: engines.cassandra.localDataCenter,
  });
  try {
    await migrate(cql, undefined, {
      log: (line) => onLine(`[migrate] ${line}`),
    });
  } finally {
    await cql.shutdown();
  }

  const auth = options.auth ?? localAuth(join(ROOT, '.data', 'cluster', 'auth'));
  // The local cluster CA and each role's certificate: services call each other over mTLS only (decision 0028).
  const certs = await ensureServiceCerts(join(ROOT, '.data', 'cluster', 'tls'), Object.keys(CLUSTER_PROCESSES));
  const grpcPort = {
    offline: base + 11,
    sync: base + 12,
    logic: base + 13,
    push: base + 14,
    search: base + 15,
  };
  // The search index's template, as the schema above: infra's, before the search process starts (decision 0031).
  const searchIndexPrefix = options.env?.IM_SEARCH_INDEX_PREFIX ?? process.env.IM_SEARCH_INDEX_PREFIX ?? 'im';
  await putSearchTemplate(engines.elasticsearch.node, searchIndexPrefix);
  const noticePort = base + 31;
  const operatorToken =
    options.env?.IM_OPERATOR_TOKEN ?? process.env.IM_OPERATOR_TOKEN ?? randomBytes(32).toString('base64url');
  const shared: Record<string, string> = {
    IM_HOST: '127.0.0.1',
    IM_OFFLINE_ADDRESS: `127.0.0.1:${grpcPort.offline}`,
    IM_SYNC_ADDRESS: `127.0.0.1:${grpcPort.sync}`,
    IM_LOGIC_ADDRESS: `127.0.0.1:${grpcPort.logic}`,
    IM_PUSH_ADDRESS: `127.0.0.1:${grpcPort.push}`,
    IM_SEARCH_ADDRESS: `127.0.0.1:${grpcPort.search}`,
    IM_ELASTICSEARCH_NODE: engines.elasticsearch.node,
    IM_SEARCH_INDEX_PREFIX: searchIndexPrefix,
    // One key for every search process of this cluster: a cursor stays good across them and their restarts.
    IM_SEARCH_CURSOR_KEY: process.env.IM_SEARCH_CURSOR_KEY ?? randomBytes(32).toString('base64url'),
    IM_KAFKA_BROKERS: engines.kafka.brokers.join(','),
    IM_REDIS_URL: `redis://${engines.redis.host}:${engines.redis.port}`,
    IM_CASSANDRA_CONTACT_POINTS: engines.cassandra.contactPoints.join(','),
    IM_CASSANDRA_DATA_CENTER: engines.cassandra.localDataCenter,
    IM_OPERATOR_TOKEN: operatorToken,
    ...localAuthEnv(auth),
    ...options.env,
  };
  const spec = (name: string, service: ServiceName, port: number, extra: Record<string, string> = {}): ProcessSpec => ({
    name,
    service,
    env: {
      ...shared,
      ...identityEnv(certs[service]!),
      IM_NODE: name,
      IM_GRPC_PORT: String(port),
      IM_HEALTH_PORT: String(port + 100),
      ...extra,
    },
    healthUrl: `http://127.0.0.1:${port + 100}/healthz`,
  });
  const specs: ProcessSpec[] = [
    spec('offline', 'offline', grpcPort.offline),
    spec('sync', 'sync', grpcPort.sync),
    spec('push', 'push', grpcPort.push),
    spec('search', 'search', grpcPort.search),
    spec('logic', 'logic', grpcPort.logic, {
      IM_NOTICE_PORT: String(noticePort),
    }),
    ...Array.from({ length: logicCount - 1 }, (_, i) =>
      spec(`logic-${i + 2}`, 'logic', base + 41 + i, {
        IM_NOTICE_PORT: String(noticePort + 1 + i),
      }),
    ),
    ...Array.from({ length: gatewayCount }, (_, i) =>
      spec(`gateway-${i + 1}`, 'gateway', base + 21 + i, {
        IM_PORT: String(base + 1 + i),
      }),
    ),
  ];
  const children = new Map<string, ChildProcess>();
  /** Processes being stopped on purpose: their exit is no death to report. */
  const stopping = new Set<ChildProcess>();
  const onDeath = options.onDeath ?? onLine;
  /** The last lines each process printed, for the error when one dies while starting (tests print none of them). */
  const lastLines = new Map<string, string[]>();

  const launch = (s: ProcessSpec, extra: Record<string, string> = {}) => {
    const child = spawn(
      process.execPath,
      [...profileArgs(), '--import', 'tsx', 'app/cluster/run-service.ts', s.service],
      {
        cwd: ROOT,
        env: { ...process.env, ...s.env, ...extra, IM_EXIT_WITH_PARENT: '1' },
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    const lines: string[] = [];
    lastLines.set(s.name, lines);
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on('line', (line) => {
        if (lines.push(line) > LAST_LINES_KEPT) lines.shift();
        onLine(`[${s.name}] ${line}`);
      });
    }
    child.once('exit', (code, signal) => {
      if (children.get(s.name) === child) children.delete(s.name);
      const how = signal ?? `code ${code}`;
      onLine(`[${s.name}] exited (${how})`);
      const injected = Object.keys(extra).some((k) => k.startsWith('IM_FAULT_'));
      if (!stopping.delete(child) && !injected) {
        onDeath(`[${s.name}] died (${how}); its last lines:\n${lines.join('\n') || '(none)'}`);
      }
    });
    children.set(s.name, child);
    return child;
  };

  const healthy = async (s: ProcessSpec, timeoutMs = 60_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!children.has(s.name)) {
        const tail = (lastLines.get(s.name) ?? []).join('\n');
        throw new Error(`${s.name} exited while starting; its last lines:\n${tail || '(none)'}`);
      }
      try {
        const res = await fetch(s.healthUrl, {
          signal: AbortSignal.timeout(2_000),
        });
        if (res.ok) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`${s.name} not healthy at ${s.healthUrl} after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };

  const stopAll = async () => {
    const exits = [...children.values()].map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          stopping.add(child);
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
          setTimeout(() => child.kill('SIGKILL'), 15_000).unref();
        }),
    );
    await Promise.all(exits);
  };

  const bySpec = (name: string) => {
    const s = specs.find((x) => x.name === name);
    if (!s) throw new Error(`no process "${name}" (known: ${specs.map((x) => x.name).join(', ')})`);
    return s;
  };

  try {
    for (const s of specs) launch(s);
    await Promise.all(specs.map((s) => healthy(s)));
  } catch (err) {
    await stopAll();
    throw err;
  }
  const signer = localSigner(auth);
  return {
    gateways: specs
      .filter((s) => s.service === 'gateway')
      .map((s) => ({ node: s.name, url: `ws://127.0.0.1:${s.env.IM_PORT}` })),
    noticeUrl: `http://127.0.0.1:${noticePort}`,
    noticeUrls: specs.filter((s) => s.service === 'logic').map((s) => `http://127.0.0.1:${s.env.IM_NOTICE_PORT}`),
    operatorToken,
    token: (user, device, ttlSec = 3600) => signer.sign(user, device, ttlSec),
    auth,
    names: () => specs.map((s) => s.name),
    metricsUrls: () => specs.map((s) => s.healthUrl.replace(/\/healthz$/, '/metrics')),
    isRunning: (name) => children.has(bySpec(name).name),
    pids: () => Object.fromEntries([...children].flatMap(([name, c]) => (c.pid ? [[name, c.pid]] : []))),
    kill: async (name, signal = 'SIGKILL') => {
      bySpec(name);
      const child = children.get(name);
      if (!child) return;
      stopping.add(child);
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill(signal);
      });
    },
    start: async (name, extra) => {
      const s = bySpec(name);
      if (children.has(name)) throw new Error(`${name} is already running`);
      launch(s, extra);
      await healthy(s);
    },
    close: stopAll,
  };
}

async function main(): Promise<void> {
  const t0 = Date.now();
  const cluster = await startCluster();
  process.stdout.write(
    [
      '',
      `IM backend (cluster) ready in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${cluster.names().join(', ')}`,
      ...cluster.gateways.map((g) => `  ${g.node}: ${g.url}/v1/ws`),
      `notice API: ${cluster.noticeUrl}/v1/notices (operator token: IM_OPERATOR_TOKEN=${cluster.operatorToken})`,
      `engines: Kafka ${endpoints.kafka.brokers.join(',')}, Redis ${endpoints.redis.port}, Cassandra ${endpoints.cassandra.port}`,
      `user tokens: signed with ${cluster.auth.signingKeyFile} (the stand-in for your auth server), verified with ${cluster.auth.jwksFile}`,
      `Try: IM_AUTH_SIGNING_KEY_FILE=${cluster.auth.signingKeyFile} npx imctl send --user alice --to bob --text hi --server ${cluster.gateways[0]!.url}`,
      'Ctrl-C stops every service (the engines keep running: npm run engines -- down).',
      '',
    ].join('\n'),
  );
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    cluster.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((err: unknown) => {
    process.stderr.write(`cluster: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
