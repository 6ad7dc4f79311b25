import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import pRetry from 'p-retry';
import { WebSocketServer, type WebSocket } from 'ws';
import { UserState } from '../proto/gen/im/v1/bus.pb.ts';
import { ClientFrame } from '../proto/gen/im/v1/client.pb.ts';
import type {
  ChangeRoomsRequest,
  ChangeRoomsResponse,
  GatewayDeliverRequest,
  GatewayDeliverResponse,
} from '../proto/gen/im/v1/services.pb.ts';
import { Admission, type AdmissionOptions } from '../lib/admission.ts';
import type { Bus } from '../lib/bus.ts';
import { ImError } from '../lib/errors.ts';
import { newConnId } from '../lib/ids.ts';
import type { Closeable } from '../lib/lifecycle.ts';
import type { Logger } from '../lib/logger.ts';
import { serveMetrics } from '../lib/metrics.ts';
import type { TokenVerifier } from '../lib/token.ts';
import { topics } from '../lib/topics.ts';
import type { LogicApi } from '../logic/index.ts';
import type { RouteTable } from '../push/index.ts';
import { syncHttpHandler } from '../sync/http.ts';
import type { SyncApi } from '../sync/index.ts';
import type { GatewayApi } from './api.ts';
import { CloseCode, Connection } from './connection.ts';
import { ConnectionSocket } from './connection-socket.ts';
import { FrameHandler, type EncodedSync } from './frame-handler.ts';
import { authenticateUpgrade, refuseUpgrade } from './handshake.ts';
import { prepareFrame } from './prepared-frame.ts';
import { Rooms } from './rooms.ts';

export { GatewayServiceService, type GatewayApi } from './api.ts';
export { WS_PATH } from './handshake.ts';

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
  rateLimit: { frames: number; perSeconds: number };
  routeTtlMs: number;
  drainTimeoutMs: number;
  /** Empty: any Origin (native apps send none). */
  allowedOrigins: string[];
  /** Bounds on GetDiff calls and connection set-ups in flight (lib/admission.ts). */
  admission: { syncs: AdmissionOptions; connects: AdmissionOptions };
}

export interface GatewayDeps {
  bus: Bus;
  sync: SyncApi;
  /** GetDiff answering with the page already encoded (sync's own bytes, or a gRPC client's `encoded`). */
  syncEncoded: EncodedSync;
  logic: LogicApi;
  routes: RouteTable;
  verifyToken: TokenVerifier;
  log: Logger;
  options: GatewayOptions;
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

export async function startGateway(deps: GatewayDeps): Promise<Gateway> {
  const { options, log, bus } = deps;
  const conns = new Map<string, Connection>();
  const byDevice = new Map<string, Connection>();
  const rooms = new Rooms();
  let deliverCalls = 0;
  let roomCalls = 0;
  const syncs = new Admission('sync', options.admission.syncs);
  const connects = new Admission('connect', options.admission.connects);
  const handler = new FrameHandler({
    node: options.node,
    bus,
    sync: deps.sync,
    syncEncoded: deps.syncEncoded,
    syncs,
    logic: deps.logic,
    log,
  });
  // POST /v1/sync on the same port, under the same bound as GetDiff frames.
  const syncHttp = syncHttpHandler({ getDiff: (r) => syncs.admit(() => deps.sync.getDiff(r)) }, deps.verifyToken);
  let draining = false;

  const routeOf = (c: Connection) => ({
    user: c.user,
    device: c.device,
    node: options.node,
    connId: c.connId,
    atMs: c.openedAtMs,
  });

  const publishState = async (conn: Connection, online: boolean) => {
    const state: UserState = {
      user: conn.user,
      device: conn.device,
      online,
      node: options.node,
      connId: conn.connId,
      nodeEpoch: 0,
      atMs: online ? conn.openedAtMs : Date.now(),
    };
    try {
      await bus.publish(topics.userState.name, conn.user, UserState.encode(state).finish());
    } catch (err) {
      // Without the event the route is missing (online) or expires by TTL (offline); the client still syncs.
      log.warn({ err, user: conn.user, online }, 'could not publish user_state');
    }
  };

  const onFrame = (conn: Connection, data: Buffer, isBinary: boolean) => {
    const now = Date.now();
    conn.lastSeenMs = now;
    if (!isBinary)
      return void conn.sendError(0, 'BAD_FRAME', 'text frames are not accepted: send binary protobuf ClientFrames');
    if (data.length > options.maxFrameBytes) {
      return void conn.sendError(
        0,
        'TOO_LARGE',
        `frame is ${data.length} bytes; the limit is ${options.maxFrameBytes}`,
      );
    }
    if (!conn.budget.take(now, options.rateLimit.frames, options.rateLimit.perSeconds * 1000)) {
      return void conn.sendError(
        requestIdOf(data),
        'RATE_LIMITED',
        `more than ${options.rateLimit.frames} frames in ${options.rateLimit.perSeconds}s; slow down`,
      );
    }
    void handler.handle(conn, data);
  };

  // One set of handlers for every connection: each socket carries its Connection (ConnectionSocket).
  function onMessage(this: WebSocket, data: Buffer, isBinary: boolean) {
    onFrame(connectionOf(this), data, isBinary);
  }
  function onError(this: WebSocket, err: Error) {
    log.debug({ err, connId: connectionOf(this).connId }, 'connection error');
  }
  function onClose(this: WebSocket) {
    const conn = connectionOf(this);
    conns.delete(conn.connId);
    rooms.leaveAll(conn);
    const deviceKey = deviceKeyOf(conn);
    if (byDevice.get(deviceKey) === conn) byDevice.delete(deviceKey);
    void publishState(conn, false);
  }

  const accept = (ws: ConnectionSocket, user: string, device: string, catchUp: boolean) => {
    const conn = new Connection(ws, newConnId(), user, device, Date.now(), options.maxBufferedBytes);
    ws.connection = conn;
    conns.set(conn.connId, conn);
    const deviceKey = deviceKeyOf(conn);
    byDevice.get(deviceKey)?.close(CloseCode.replaced, 'replaced by a newer connection of this device');
    byDevice.set(deviceKey, conn);
    ws.on('message', onMessage);
    ws.on('error', onError);
    ws.on('close', onClose);
    // Set-ups beyond the bound wait their turn; one whose client has gone by then is dropped.
    connects
      .run(
        () => joinRoomsThenGreet(conn, catchUp),
        () => conns.has(conn.connId),
      )
      .catch(() => undefined);
  };

  /**
   * The route is written and rooms are joined before the client hears it is authenticated: a client syncs right
   * after that, so every message of its large groups is either in that sync or arrives live, never in between.
   * Route first: a membership change from then on finds the connection (push joins it to the room); one from
   * before is already in what ListRooms answers.
   */
  const joinRoomsThenGreet = async (conn: Connection, catchUp: boolean) => {
    const { user, device } = conn;
    try {
      await deps.routes.put(routeOf(conn), options.routeTtlMs);
    } catch (err) {
      // The refresh timer writes it again (and push, when an online event for a catch-up arrives).
      log.warn({ err, user }, 'could not write the route of a new connection');
    }
    if (!conns.has(conn.connId)) return;
    try {
      const { rooms: names } = await pRetry(() => deps.logic.listRooms({ user }), { retries: 2, minTimeout: 100 });
      if (!conns.has(conn.connId)) return;
      for (const room of names) rooms.join(room, conn);
    } catch (err) {
      // Degraded, not refused: this connection gets its large groups' messages by sync only, until it reconnects.
      log.warn({ err, user }, 'could not list the rooms of a connection');
    }
    if (!conns.has(conn.connId)) return;
    conn.send({
      requestId: 0,
      body: {
        $case: 'authResult',
        value: {
          user,
          device,
          connId: conn.connId,
          serverTimeMs: Date.now(),
          heartbeatIntervalMs: options.heartbeatIntervalMs,
          maxFrameBytes: options.maxFrameBytes,
        },
      },
    });
    // Online is news to push only when it should hand the device its unacked messages (decision 0014).
    if (catchUp) void publishState(conn, true);
  };

  const wss = new WebSocketServer({
    WebSocket: ConnectionSocket,
    noServer: true,
    maxPayload: options.hardMaxFrameBytes,
    perMessageDeflate: false,
    clientTracking: false,
  });
  const server = createServer((req, res) => {
    if (req.url === '/healthz') {
      res.writeHead(draining ? 503 : 200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: draining ? 'draining' : 'ok', node: options.node, ...stats() }));
      return;
    }
    if (req.url === '/metrics') return void serveMetrics(res);
    if (syncHttp(req, res)) return;
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ code: 'NOT_FOUND', message: `no route ${req.method} ${req.url}` }));
  });
  server.on('upgrade', (req, socket, head) => {
    socket.on('error', () => socket.destroy());
    if (draining) return refuseUpgrade(socket, new ImError('UNAVAILABLE', 'server is draining: reconnect later'));
    let upgrade;
    try {
      // Busy first: a refusal costs nothing, a token check about 0.15 ms of CPU the storm needs elsewhere.
      connects.refuseIfBusy();
      upgrade = authenticateUpgrade(req, deps.verifyToken, options.allowedOrigins);
    } catch (err) {
      return refuseUpgrade(socket, err);
    }
    const { claims, catchUp } = upgrade;
    wss.handleUpgrade(req, socket, head, (ws) => accept(ws, claims.sub, claims.dev, catchUp));
  });

  const heartbeat = setInterval(
    () => {
      const silentSince = Date.now() - options.heartbeatTimeoutMs;
      for (const conn of conns.values()) {
        if (conn.lastSeenMs < silentSince) conn.close(CloseCode.heartbeatTimeout, 'heartbeat timeout');
      }
    },
    Math.max(50, Math.floor(options.heartbeatTimeoutMs / 4)),
  );
  const refreshRoutes = setInterval(
    () => {
      // A put, not a refresh: it also restores routes the store lost (a Redis restart), and never replaces a
      // newer connection's route (put compares the connection's start time).
      const puts = [...conns.values()].map((c) => deps.routes.put(routeOf(c), options.routeTtlMs));
      Promise.all(puts).catch((err: unknown) => log.warn({ err }, 'route refresh failed'));
    },
    Math.max(100, Math.floor(options.routeTtlMs / 3)),
  );

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // A deep accept queue: in a reconnect storm thousands of connects arrive at once, and with Node's default of
    // 511 the kernel drops the rest of the SYNs, which clients resend only after 1, 3, 7… seconds.
    server.listen({ port: options.port, host: options.host, backlog: 4096 }, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  log.info({ node: options.node, port }, 'gateway listening');

  const api: GatewayApi = {
    deliver({ items, rooms: roomFrames }: GatewayDeliverRequest): Promise<GatewayDeliverResponse> {
      deliverCalls++;
      if (roomFrames.length > 0) roomCalls++;
      let delivered = 0;
      for (const { room, frame } of roomFrames) delivered += rooms.send(room, frame);
      const gone: string[] = [];
      const full: string[] = [];
      for (const { connIds, frame, ifRoom } of items) {
        // Framed once for all its connections; one connection is framed by ws as any other send.
        const framed = connIds.length > 1 && !ifRoom ? prepareFrame(frame) : undefined;
        for (const id of connIds) {
          const conn = conns.get(id);
          if (!conn) gone.push(id);
          else if (ifRoom) {
            const sent = conn.sendIfRoom(frame);
            if (sent === 'sent') delivered++;
            else if (sent === 'full') full.push(id);
          } else if (framed ? conn.sendPrepared(framed, frame) : conn.sendBytes(frame)) delivered++;
        }
      }
      return Promise.resolve({ delivered, goneConnIds: gone, fullConnIds: full });
    },
    changeRooms({ changes }: ChangeRoomsRequest): Promise<ChangeRoomsResponse> {
      let changed = 0;
      const gone: string[] = [];
      for (const { room, connIds, join } of changes) {
        for (const id of connIds) {
          const conn = conns.get(id);
          if (!conn) gone.push(id);
          else if (join ? rooms.join(room, conn) : rooms.leave(room, conn)) changed++;
        }
      }
      return Promise.resolve({ changed, goneConnIds: gone });
    },
  };
  const stats = (): GatewayStats => ({ connections: conns.size, deliverCalls, roomCalls });

  /** Graceful drain: refuse new connections, ask every client to reconnect elsewhere, wait, then close the rest. */
  const close = async () => {
    if (draining) return;
    draining = true;
    clearInterval(heartbeat);
    clearInterval(refreshRoutes);
    for (const conn of conns.values()) {
      conn.send({
        requestId: 0,
        body: {
          $case: 'reconnect',
          value: { reason: 'server shutting down', retryAfterMs: Math.floor(Math.random() * 1000) },
        },
      });
    }
    const deadline = Date.now() + options.drainTimeoutMs;
    while (conns.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const conn of conns.values()) conn.close(CloseCode.goingAway, 'server shutting down');
    while (conns.size > 0 && Date.now() < deadline + 1_500) await new Promise((r) => setTimeout(r, 20));
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
    log.info({ node: options.node }, 'gateway stopped');
  };

  return { api, url: `ws://${options.host}:${port}`, port, connectionCount: () => conns.size, stats, close };
}

/** The Connection a socket of the gateway's server carries (it is set as the socket is accepted). */
function connectionOf(ws: WebSocket): Connection {
  return (ws as ConnectionSocket).connection!;
}

function deviceKeyOf(conn: Connection): string {
  return `${conn.user}\n${conn.device}`;
}

/** The request id of a frame that is refused before it is handled, so the client can match the answer (0 if unreadable). */
function requestIdOf(data: Uint8Array): number {
  try {
    return ClientFrame.decode(data).requestId;
  } catch {
    return 0;
  }
}
