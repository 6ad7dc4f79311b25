import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import pRetry from 'p-retry';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Admission } from '../lib/admission.ts';
import { ImError, toImError, type ErrorCode } from '../lib/errors.ts';
import { newConnId } from '../lib/ids.ts';
import type { Logger } from '../lib/logger.ts';
import type { TokenVerifier } from '../lib/token.ts';
import type { LogicApi } from '../logic/index.ts';
import { CloseCode, Connection } from './connection.ts';
import { ConnectionSocket } from './connection-socket.ts';
import type { ConnectionRegistry } from './connections.ts';
import type { FrameLimits } from './frame-budget.ts';
import type { FrameIntake } from './frame-intake.ts';
import { authenticateUpgrade, chooseProtocol, refuseUpgrade, type HandshakePolicy, type Upgrade } from './handshake.ts';
import type { Presence } from './presence.ts';
import type { RefusalReason, Refusals } from './refusals.ts';
import type { UserLimits } from './user-limits.ts';

export interface SessionOptions extends HandshakePolicy {
  /** Frames above this close the connection (1009) before they are read whole. */
  hardMaxFrameBytes: number;
  heartbeatIntervalMs: number;
  /** What the client is told its frames may be at most (larger ones get TOO_LARGE). */
  maxFrameBytes: number;
  maxBufferedBytes: number;
  rateLimit: FrameLimits;
}

export interface SessionDeps {
  registry: ConnectionRegistry;
  presence: Presence;
  intake: FrameIntake;
  refusals: Refusals;
  /** Connection set-ups in flight (lib/admission.ts): a storm's connects wait their turn. */
  connects: Admission;
  userLimits: UserLimits;
  logic: LogicApi;
  verifyToken: TokenVerifier;
  log: Logger;
  draining(): boolean;
}

/**
 * WebSocket sessions from handshake to close: the upgrade is checked (draining, busy, Origin, token, the user's
 * connections), the connection registered, its route written and rooms joined before the client is greeted, and
 * its frames handed to the intake until it closes.
 */
export class Sessions {
  private readonly wss: WebSocketServer;
  /**
   * One set of socket handlers for every connection of this server, called by ws with the socket as `this`: each
   * socket carries its Connection (ConnectionSocket), so no connection pays for closures of its own.
   */
  private readonly handlers: {
    message: (this: WebSocket, data: Buffer, isBinary: boolean) => void;
    error: (this: WebSocket, err: Error) => void;
    close: (this: WebSocket, code: number) => void;
  };

  constructor(
    private readonly deps: SessionDeps,
    private readonly options: SessionOptions,
  ) {
    this.wss = new WebSocketServer({
      WebSocket: ConnectionSocket,
      noServer: true,
      maxPayload: options.hardMaxFrameBytes,
      perMessageDeflate: false,
      clientTracking: false,
      handleProtocols: chooseProtocol,
    });
    const { intake, log } = deps;
    const closed = (conn: Connection, code: number) => this.closed(conn, code);
    this.handlers = {
      message(data, isBinary) {
        intake.onFrame(connectionOf(this), data, isBinary);
      },
      error(err) {
        log.debug({ err, connId: connectionOf(this).connId }, 'connection error');
      },
      close(code) {
        closed(connectionOf(this), code);
      },
    };
  }

  /** The HTTP server's `upgrade` handler. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const { deps } = this;
    socket.on('error', () => socket.destroy());
    if (deps.draining()) {
      deps.refusals.record('draining');
      return refuseUpgrade(socket, new ImError('UNAVAILABLE', 'server is draining: reconnect later'));
    }
    try {
      // Busy first: a refusal costs nothing, a token check about 0.15 ms of CPU the storm needs elsewhere.
      deps.connects.refuseIfBusy();
    } catch (err) {
      this.recordRefusal(err, undefined);
      return refuseUpgrade(socket, err);
    }
    void this.authenticateThenAccept(req, socket, head);
  }

  private async authenticateThenAccept(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const { deps } = this;
    let upgrade: Upgrade | undefined;
    try {
      upgrade = await authenticateUpgrade(req, deps.verifyToken, this.options);
      const { sub, dev } = upgrade.claims;
      deps.userLimits.checkConnection(deps.registry.countOf(sub), deps.registry.hasDevice(sub, dev));
    } catch (err) {
      this.recordRefusal(err, upgrade?.claims);
      return refuseUpgrade(socket, err);
    }
    // A client gone while its token was checked: ws destroys the socket instead of upgrading it.
    const { claims, catchUp } = upgrade;
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws as ConnectionSocket, claims, catchUp));
  }

  private recordRefusal(err: unknown, claims: { sub: string; dev: string } | undefined): void {
    const e = toImError(err);
    const reason = HANDSHAKE_REFUSALS[e.code] ?? 'bad_request';
    if (reason === 'busy') return void this.deps.refusals.record(reason); // a storm: counted, not logged per user
    this.deps.refusals.record(reason, { user: claims?.sub, device: claims?.dev, code: e.code, detail: e.message });
  }

  private accept(ws: ConnectionSocket, claims: { sub: string; dev: string; iat: number }, catchUp: boolean): void {
    const conn = new Connection(ws, newConnId(), claims.sub, claims.dev, Date.now(), this.options.maxBufferedBytes);
    conn.tokenIssuedAtSec = claims.iat;
    ws.connection = conn;
    this.deps.registry.add(conn);
    ws.on('message', this.handlers.message);
    ws.on('error', this.handlers.error);
    ws.on('close', this.handlers.close);
    // Set-ups beyond the bound wait their turn; one whose client has gone by then is dropped.
    this.deps.connects
      .run(
        () => this.joinRoomsThenGreet(conn, catchUp),
        () => this.deps.registry.has(conn),
      )
      .catch(() => undefined);
  }

  /**
   * The route is written and rooms are joined before the client hears it is authenticated: a client syncs right
   * after that, so every message of its large groups is either in that sync or arrives live, never in between.
   * Route first: a membership change from then on finds the connection (push joins it to the room); one from
   * before is already in what ListRooms answers.
   */
  private async joinRoomsThenGreet(conn: Connection, catchUp: boolean): Promise<void> {
    const { registry, presence, logic, log } = this.deps;
    const { user, device } = conn;
    await presence.routeUp(conn);
    if (!registry.has(conn)) return;
    try {
      const { rooms: names } = await pRetry(() => logic.listRooms({ user }), { retries: 2, minTimeout: 100 });
      if (!registry.has(conn)) return;
      for (const room of names) registry.rooms.join(room, conn);
    } catch (err) {
      // Degraded, not refused: this connection gets its large groups' messages by sync only, until it reconnects.
      log.warn({ err, user }, 'could not list the rooms of a connection');
    }
    if (!registry.has(conn)) return;
    conn.send({
      requestId: 0,
      body: {
        $case: 'authResult',
        value: {
          user,
          device,
          connId: conn.connId,
          serverTimeMs: Date.now(),
          heartbeatIntervalMs: this.options.heartbeatIntervalMs,
          maxFrameBytes: this.options.maxFrameBytes,
          rateLimitFrames: this.options.rateLimit.frames,
          rateLimitBytes: this.options.rateLimit.bytes,
          rateLimitWindowMs: this.options.rateLimit.windowMs,
        },
      },
    });
    // Online is news to push only when it should hand the device its unacked messages (decision 0014).
    if (catchUp) void presence.publish(conn, true);
  }

  /** A connection's socket closed: it leaves everything, and a cut-off the gateway made is counted. */
  private closed(conn: Connection, code: number): void {
    if (!this.deps.registry.remove(conn)) return;
    if (conn.closedWith === CloseCode.slowConsumer) this.deps.refusals.recordFor('slow_consumer', conn);
    else if (conn.closedWith === undefined && code === 1009) {
      this.deps.refusals.recordFor('frame_over_hard_limit', conn);
    }
    void this.deps.presence.down(conn);
  }
}

/** Why a handshake was refused, by the code it was refused with (anything else: a bad request). */
const HANDSHAKE_REFUSALS: Partial<Record<ErrorCode, RefusalReason>> = {
  UNAVAILABLE: 'busy',
  FORBIDDEN: 'origin',
  RATE_LIMITED: 'user_connections',
  UNAUTHORIZED: 'auth',
  TOKEN_EXPIRED: 'auth',
};

function connectionOf(ws: WebSocket): Connection {
  return (ws as ConnectionSocket).connection!;
}
