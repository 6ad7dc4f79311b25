import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Admission, type AdmissionOptions } from '../lib/admission.ts';
import type { Bus } from '../lib/bus.ts';
import type { Closeable } from '../lib/lifecycle.ts';
import type { GatewayApi } from '../lib/gateway-api.ts';
import type { Logger } from '../lib/logger.ts';
import type { TokenVerifier } from '../lib/token.ts';
import type { LogicApi } from '../logic/index.ts';
import type { RouteTable } from '../push/index.ts';
import { syncHttpHandler, type SyncApi } from '../sync/index.ts';
import { searchHttpHandler, type SearchApi } from '../search/index.ts';
import type { Revocations } from './revocations/revocations.ts';
import { deviceHttpHandler } from '../push/index.ts';
import { CloseCode } from './connection.ts';
import { countConnections } from './connection-gauge.ts';
import { ConnectionRegistry } from './connections.ts';
import { DeliverApi } from './deliver-api.ts';
import { drain } from './drain.ts';
import type { FrameLimits } from './frame-budget.ts';
import { FrameHandler, type DevicePush, type EncodedSync } from './frame-handler.ts';
import { FrameIntake } from './frame-intake.ts';
import { httpRoutes } from './http-routes.ts';
import { Presence } from './presence.ts';
import { Refusals } from './refusals.ts';
import { Sessions } from './sessions.ts';
import { UserLimits, type UserLimitOptions } from './user-limits.ts';

export { GatewayServiceService, type GatewayApi } from '../lib/gateway-api.ts';
export { BEARER_PROTOCOL_PREFIX, WS_PATH, WS_PROTOCOL } from './handshake.ts';
export { DEV_ORIGINS } from './origin.ts';
export { Revocations } from './revocations/revocations.ts';
export { revocationsHttpHandler } from './revocations/admin-http.ts';
export { CONTENT_SECURITY_POLICY, webAppHandler } from './web-app.ts';
export type { RevocationStore } from './revocations/revocation-store.ts';

export interface GatewayOptions {
  host: string;
  port: number;
  node: string;
  /** Frames above this get a TOO_LARGE error frame; the connection stays. */
  maxFrameBytes: number;
  /** Frames above this close the connection (1009) before they are read whole. */
  hardMaxFrameBytes: number;
  heartbeatIntervalMs: number;
  /** A connection silent for this long is closed. */
  heartbeatTimeoutMs: number;
  /** The bound of each connection's send queue. */
  maxBufferedBytes: number;
  /** What one connection may send per window (every frame counts, by number and bytes). */
  rateLimit: FrameLimits;
  /** What one user may hold and do at once on this node. */
  userLimits: UserLimitOptions;
  routeTtlMs: number;
  drainTimeoutMs: number;
  /** Browser origins allowed besides the gateway's own (gateway/origin.ts); `*` allows any. */
  allowedOrigins: string[];
  /** Whether `?token=` is accepted at the handshake (off unless configured: URLs get logged by proxies). */
  allowQueryToken: boolean;
  /** Bounds on GetDiff calls and connection set-ups in flight (lib/admission.ts). */
  admission: { syncs: AdmissionOptions; connects: AdmissionOptions };
}

export interface GatewayDeps {
  bus: Bus;
  sync: SyncApi;
  /** GetDiff answering with the page already encoded (sync's own bytes, or a gRPC client's `encoded`). */
  syncEncoded: EncodedSync;
  logic: LogicApi;
  /** Devices' mobile push registrations (the push service). */
  push: DevicePush;
  /** The gateway writes its connections' routes; push reads them. */
  routes: RouteTable;
  verifyToken: TokenVerifier;
  log: Logger;
  options: GatewayOptions;
  /** Message search for the connection's user (a search frame and `GET /v1/search`); absent: frames get UNAVAILABLE. */
  search?: SearchApi;
  /**
   * The revoked sign-ins the token verifier checks: a revocation that comes into force cuts the connections of the
   * devices it names, opened with tokens issued before it (close 4001), as well as refusing their next connect.
   */
  revocations?: Pick<Revocations, 'revoked' | 'onRevoked'>;
  /** More HTTP APIs on the gateway's port (embedded mode: the notice API); each returns true if it took the request. */
  httpApis?: ((req: IncomingMessage, res: ServerResponse) => boolean)[];
}

export interface Gateway extends Closeable {
  api: GatewayApi;
  /** ws://host:port */
  url: string;
  port: number;
  connectionCount(): number;
  stats(): GatewayStats;
}

export interface GatewayStats {
  connections: number;
  /** Deliver calls this node has answered. */
  deliverCalls: number;
  /** Of those, the ones that carried room frames (push makes one per node for a large group's message). */
  roomCalls: number;
}

/**
 * The access layer: WebSocket sessions (sessions.ts) whose frames go through the intake (frame-intake.ts) to the
 * frame handler, the connections this node holds (connections.ts) and their routes (presence.ts), the Deliver
 * API push calls (deliver-api.ts), plain HTTP (http-routes.ts) and the drain at shutdown (drain.ts).
 */
export async function startGateway(deps: GatewayDeps): Promise<Gateway> {
  const { options, log, bus } = deps;
  const registry = new ConnectionRegistry();
  const refusals = new Refusals(log);
  const userLimits = new UserLimits(options.userLimits);
  const syncs = new Admission('sync', options.admission.syncs);
  const connects = new Admission('connect', options.admission.connects);
  const presence = new Presence({ bus, routes: deps.routes, registry, log }, options);
  const revocations = deps.revocations;
  revocations?.onRevoked(() => {
    for (const conn of registry.values()) {
      if (revocations.revoked(conn.user, conn.device, conn.tokenIssuedAtSec)) {
        conn.close(CloseCode.revoked, 'sign-in revoked');
      }
    }
  });
  const handler = new FrameHandler({
    node: options.node,
    bus,
    sync: deps.sync,
    syncEncoded: deps.syncEncoded,
    syncs,
    userLimits,
    logic: deps.logic,
    push: deps.push,
    ...(deps.search ? { search: deps.search } : {}),
    log,
  });
  const intake = new FrameIntake(handler, refusals, {
    limits: options.rateLimit,
    maxFrameBytes: options.maxFrameBytes,
  });
  let draining = false;
  const sessions = new Sessions(
    {
      registry,
      presence,
      intake,
      refusals,
      connects,
      userLimits,
      logic: deps.logic,
      verifyToken: deps.verifyToken,
      log,
      draining: () => draining,
    },
    options,
  );
  const api = new DeliverApi(registry);
  const stats = (): GatewayStats => ({
    connections: registry.size,
    deliverCalls: api.deliverCalls,
    roomCalls: api.roomCalls,
  });
  // POST /v1/sync on the same port, under the same bounds as GetDiff frames and the user's own.
  const syncHttp = syncHttpHandler(
    { getDiff: (r) => userLimits.httpSync(r.user, () => syncs.admit(() => deps.sync.getDiff(r))) },
    deps.verifyToken,
  );
  const deviceHttp = deviceHttpHandler(deps.push, deps.verifyToken);
  const server = createServer(
    httpRoutes({
      health: () => ({ node: options.node, ...stats() }),
      draining: () => draining,
      api: [
        syncHttp,
        deviceHttp,
        ...(deps.search ? [searchHttpHandler(deps.search, deps.verifyToken)] : []),
        ...(deps.httpApis ?? []),
      ],
    }),
  );
  server.on('upgrade', (req, socket, head) => sessions.upgrade(req, socket, head));

  const heartbeat = setInterval(
    () => {
      const silentSince = Date.now() - options.heartbeatTimeoutMs;
      for (const conn of registry.values()) {
        if (conn.lastSeenMs < silentSince) conn.close(CloseCode.heartbeatTimeout, 'heartbeat timeout');
      }
    },
    Math.max(50, Math.floor(options.heartbeatTimeoutMs / 4)),
  );

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // A deep accept queue: in a reconnect storm thousands of connects arrive at once, and with Node's default of
    // 511 the kernel drops the rest of the SYNs, which clients resend only after 1, 3, 7… seconds.
    server.listen({ port: options.port, host: options.host, backlog: 4096 }, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const uncount = countConnections(() => registry.size);
  log.info({ node: options.node, port }, 'gateway listening');

  const close = async () => {
    if (draining) return;
    draining = true;
    clearInterval(heartbeat);
    presence.close();
    await drain(registry, server, options.drainTimeoutMs);
    uncount();
    log.info({ node: options.node }, 'gateway stopped');
  };

  return {
    api,
    url: `ws://${options.host}:${port}`,
    port,
    connectionCount: () => registry.size,
    stats,
    close,
  };
}
