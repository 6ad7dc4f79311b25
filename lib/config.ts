import { z } from 'zod';

/**
 * The one configuration object, built once at start from the environment (IM_*) and validated; a bad value stops
 * the process with a message naming the variable.
 */
const schema = z.object({
  host: z.string().default('127.0.0.1'),
  port: z.coerce.number().int().min(0).max(65535).default(7400),
  node: z.string().min(1).default('gw-1'),
  tokenTtlSec: z.coerce.number().int().positive().default(3600),
  /**
   * User tokens (decision 0027): the public keys that verify them, as a JWKS file (read again when it changes) or an
   * identity provider's JWKS URL; the issuer and audience they must name; their longest lifetime; the clock skew
   * tolerated. With neither key source, embedded mode verifies dev tokens (the dev key) and cluster mode refuses to
   * start unless IM_DEV_CLUSTER=1.
   */
  authJwksFile: z.string().default(''),
  authJwksUrl: z.string().default(''),
  authIssuer: z.string().default(''),
  authAudience: z.string().min(1).default('im'),
  authMaxLifetimeSec: z.coerce
    .number()
    .int()
    .positive()
    .default(24 * 3600),
  authClockSkewSec: z.coerce.number().int().min(0).max(300).default(30),
  /** How often a gateway reads the revoked sign-ins again: one revoked elsewhere is refused within this. */
  authRevocationsRefreshMs: z.coerce.number().int().positive().default(5_000),
  authAlgorithms: z
    .string()
    .default('EdDSA,ES256,RS256')
    .transform((s) => s.split(',').map((a) => a.trim()))
    .pipe(z.array(z.enum(['EdDSA', 'ES256', 'RS256'])).min(1)),
  /** A cluster for development: its gateways may verify dev tokens (the dev key) when no key set is configured. */
  devCluster: z
    .enum(['0', '1', 'true', 'false', ''])
    .default('')
    .transform((v) => v === '1' || v === 'true'),
  /** Cluster gateways serve the web client and the admin console too (embedded mode always does). */
  webApp: z
    .enum(['0', '1', 'true', 'false', ''])
    .default('')
    .transform((v) => v === '1' || v === 'true'),
  maxFrameBytes: z.coerce
    .number()
    .int()
    .positive()
    .default(64 * 1024),
  hardMaxFrameBytes: z.coerce
    .number()
    .int()
    .positive()
    .default(1024 * 1024),
  maxBodyBytes: z.coerce
    .number()
    .int()
    .positive()
    .default(32 * 1024),
  heartbeatIntervalMs: z.coerce.number().int().positive().default(25_000),
  heartbeatTimeoutMs: z.coerce.number().int().positive().default(60_000),
  maxBufferedBytes: z.coerce
    .number()
    .int()
    .positive()
    .default(1024 * 1024),
  /** Message bytes per GetDiff page and per catch-up frame at most: each is one frame on a connection. */
  syncPageMaxBytes: z.coerce
    .number()
    .int()
    .positive()
    .default(256 * 1024),
  rateLimitFrames: z.coerce.number().int().positive().default(200),
  rateLimitSeconds: z.coerce.number().int().positive().default(1),
  /** Bytes one connection may send per rate-limit window (every frame counts, refused ones too). */
  rateLimitBytes: z.coerce
    .number()
    .int()
    .positive()
    .default(1024 * 1024),
  /** Per user and gateway node: connections held, GetDiff calls in flight, POST /v1/sync calls per second. */
  maxConnectionsPerUser: z.coerce.number().int().positive().default(32),
  maxSyncsPerUser: z.coerce.number().int().positive().default(4),
  httpSyncsPerUserPerSecond: z.coerce.number().int().positive().default(10),
  routeTtlMs: z.coerce.number().int().positive().default(90_000),
  /** Per gateway: GetDiff calls in flight, and connections being set up (route, rooms), at most (decision 0014). */
  syncConcurrency: z.coerce.number().int().positive().default(32),
  connectConcurrency: z.coerce.number().int().positive().default(64),
  /** A sync or a connect that would wait longer than this for its turn is refused at once with a retry hint. */
  // Under the SDK's 10 s request timeout, with room for the call itself.
  admissionMaxWaitMs: z.coerce.number().int().positive().default(5_000),
  drainTimeoutMs: z.coerce.number().int().nonnegative().default(5_000),
  /**
   * Browser origins allowed to open a WebSocket besides the gateway's own: exact (`https://chat.example.com`), any
   * port (`http://localhost:*`), or `*` for any. Empty (the default): the gateway's own origin only. Embedded mode
   * adds this machine's origins (gateway/origin.ts DEV_ORIGINS).
   */
  allowedOrigins: z
    .string()
    .default('')
    .transform((s) =>
      s
        .split(',')
        .map((o) => o.trim())
        .filter(Boolean),
    ),
  /** Whether the handshake accepts `?token=` (browsers can offer the token as a subprotocol instead). */
  allowQueryToken: z
    .enum(['true', 'false', '1', '0'])
    .default('false')
    .transform((v) => v === 'true' || v === '1'),
  /** Groups with more members than this switch to read fan-out (one timeline entry instead of one inbox row each). */
  smallGroupMaxMembers: z.coerce.number().int().positive().default(200),
  maxGroupMembers: z.coerce.number().int().positive().default(100_000),
  recallWindowMs: z.coerce
    .number()
    .int()
    .positive()
    .default(2 * 60_000),
  /** How long a sender may edit a message, and how often (0: never); the window at most dedupeTtlMs (decision 0019). */
  editWindowMs: z.coerce
    .number()
    .int()
    .positive()
    .default(15 * 60_000),
  maxEditsPerMessage: z.coerce.number().int().nonnegative().default(10),
  dedupeTtlMs: z.coerce
    .number()
    .int()
    .positive()
    .default(24 * 3600 * 1000),
  inboxRetainedPerUser: z.coerce.number().int().positive().default(20_000),
  busPartitions: z.coerce.number().int().positive().default(8),
  // Cluster mode: where this service listens and where the others and the engines are.
  /** The interface of gRPC, /healthz, /metrics and the notice API: the cluster's network, not the public gateway's. */
  internalHost: z.string().default('127.0.0.1'),
  /**
   * mTLS between services (decision 0028): the cluster CA's certificate, and this service's certificate (naming its
   * role, `urn:im:service:<role>`) and key, PEM. Cluster services refuse to start without them.
   */
  tlsCaFile: z.string().default(''),
  tlsCertFile: z.string().default(''),
  tlsKeyFile: z.string().default(''),
  grpcPort: z.coerce.number().int().min(0).max(65535).default(0),
  healthPort: z.coerce.number().int().min(0).max(65535).default(0),
  /** Cluster mode: the port of a logic process's notice API (HTTP; embedded mode serves it on IM_PORT). */
  noticePort: z.coerce.number().int().min(0).max(65535).default(0),
  /**
   * What an operator presents to manage apps (`Authorization: Bearer …`). Empty: embedded mode keeps one in the data
   * directory's `operator-token` (made on first start); cluster mode refuses to start without it.
   */
  operatorToken: z.string().default(''),
  /** How long a notice's firing stays claimed without renewal: another logic process takes over a dead one's after it. */
  noticeLeaseMs: z.coerce.number().int().positive().default(15_000),
  /** Mobile push: at most one visible alert per device and conversation this often. */
  pushCoalesceWindowMs: z.coerce.number().int().positive().default(1000),
  /** APNs token auth: the .p8 key file, its key id and the team id (all three, or APNs is off). */
  apnsKeyFile: z.string().default(''),
  apnsKeyId: z.string().default(''),
  apnsTeamId: z.string().default(''),
  /** APNs at another address (tests: a local fake), as host:port, and the CA file its certificate is signed by. */
  apnsAddress: z.string().default(''),
  apnsCaFile: z.string().default(''),
  /** FCM: the service account's JSON key file (project id, client email, private key), or FCM is off. */
  fcmServiceAccountFile: z.string().default(''),
  /** FCM and its OAuth endpoint at another address (tests: a local fake) as host:port, and the CA file. */
  fcmAddress: z.string().default(''),
  fcmCaFile: z.string().default(''),
  offlineAddress: z.string().default('127.0.0.1:7411'),
  syncAddress: z.string().default('127.0.0.1:7412'),
  logicAddress: z.string().default('127.0.0.1:7413'),
  pushAddress: z.string().default('127.0.0.1:7414'),
  searchAddress: z.string().default('127.0.0.1:7415'),
  /** Cluster mode's search index: the Elasticsearch node and the name its indices, alias and template start with. */
  elasticsearchNode: z.string().default('http://127.0.0.1:19200'),
  searchIndexPrefix: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_-]{0,39}$/, 'lower-case letters, digits, _ and -')
    .default('im'),
  /**
   * The key that seals search cursors (32 bytes, base64url): search processes answering the same users share it, and
   * a cursor outlives a restart. Unset: a key of the process's own, and a restart sends clients to the first page.
   */
  searchCursorKey: z
    .string()
    .default('')
    .refine((k) => k === '' || Buffer.from(k, 'base64url').length === 32, 'must be 32 bytes, base64url'),
  /** Cluster mode: messages older than this many days leave the search index, a month at a time (0: kept). */
  searchRetentionDays: z.coerce.number().int().min(0).default(0),
  /** Searches of one user per second, WebSocket and HTTP together (per search process). */
  searchPerUserPerSecond: z.coerce.number().int().positive().default(10),
  /** End-to-end keys one user may claim (devices new to them) per minute, per logic process. */
  e2eKeyClaimsPerUserPerMinute: z.coerce.number().int().positive().default(600),
  kafkaBrokers: z
    .string()
    .default('127.0.0.1:19092')
    .transform((s) =>
      s
        .split(',')
        .map((b) => b.trim())
        .filter(Boolean),
    ),
  redisUrl: z.string().default('redis://127.0.0.1:16379'),
  redisPrefix: z.string().default('im:'),
  cassandraContactPoints: z
    .string()
    .default('127.0.0.1:19042')
    .transform((s) =>
      s
        .split(',')
        .map((c) => c.trim())
        .filter(Boolean),
    ),
  cassandraDataCenter: z.string().default('datacenter1'),
  cassandraKeyspace: z.string().default('im'),
  /** An allocated seq whose row is not written within this long becomes a gap; reads also pause this long after Redis lost the counters. */
  seqInFlightTtlMs: z.coerce.number().int().positive().default(10_000),
  /** How often a gateway refreshes its registry entry and its connections' routes. */
  registryHeartbeatMs: z.coerce.number().int().positive().default(10_000),
  /**
   * Embedded mode: where everything is kept (one SQLite file, held by one process at a time), relative to the working
   * directory; `:memory:` keeps nothing (every store in memory, as the tests use it).
   */
  dataDir: z.string().min(1).default('.data'),
  /** `normal`: a commit survives the process being killed; `full`: also power loss, at a cost (decision 0021). */
  dataDurability: z.enum(['normal', 'full']).default('normal'),
  /** How services in one process call each other: `direct` objects, or `grpc` over loopback (what cluster mode does). */
  transport: z.enum(['direct', 'grpc']).default('direct'),
});

export type Config = z.infer<typeof schema>;

const envNames: Record<keyof Config, string> = Object.fromEntries(
  Object.keys(schema.shape).map((k) => [k, 'IM_' + k.replace(/[A-Z]/g, (c) => '_' + c).toUpperCase()]),
) as Record<keyof Config, string>;

/** Config from IM_* variables (IM_PORT, IM_MAX_FRAME_BYTES, …) with `overrides` on top. */
export function loadConfig(
  overrides: Partial<Record<keyof Config, unknown>> = {},
  env: NodeJS.ProcessEnv = process.env,
): Config {
  const raw: Record<string, unknown> = {};
  for (const [key, name] of Object.entries(envNames)) if (env[name] !== undefined) raw[key] = env[name];
  const parsed = schema.safeParse({ ...raw, ...overrides });
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (i) => `${envNames[i.path[0] as keyof Config] ?? i.path.join('.')}: ${i.message}`,
    );
    throw new Error(`config: ${problems.join('; ')}`);
  }
  const problems = limitProblems(parsed.data);
  if (problems.length > 0) throw new Error(`config: ${problems.join('; ')}`);
  return parsed.data;
}

/** Room a message needs in a page besides its body: ids, conversation, times, the field tags. */
const MESSAGE_OVERHEAD_BYTES = 4096;

/**
 * Limits that only hold together: every message fits in a sync page, and a page fits twice in a connection's send
 * queue (a frame that cannot be queued cuts the connection off, so a too-big message would lock its reader out).
 */
function limitProblems(c: Config): string[] {
  const problems: string[] = [];
  if (c.maxBodyBytes + MESSAGE_OVERHEAD_BYTES > c.syncPageMaxBytes) {
    problems.push(
      `${envNames.syncPageMaxBytes} (${c.syncPageMaxBytes}) must be at least ${envNames.maxBodyBytes} (${c.maxBodyBytes}) + ${MESSAGE_OVERHEAD_BYTES}: every message must fit in a sync page`,
    );
  }
  if (c.syncPageMaxBytes * 2 > c.maxBufferedBytes) {
    problems.push(
      `${envNames.maxBufferedBytes} (${c.maxBufferedBytes}) must be at least twice ${envNames.syncPageMaxBytes} (${c.syncPageMaxBytes}): a page must fit in a connection's send queue`,
    );
  }
  return problems;
}
