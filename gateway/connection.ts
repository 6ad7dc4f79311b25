import type { WebSocket } from 'ws';
import { ServerFrame } from '../proto/gen/im/v1/client.pb.ts';
import type { ErrorCode } from '../lib/errors.ts';
import { FrameBudget } from './frame-budget.ts';
import { prepareFrame, rawSocketOf } from './prepared-frame.ts';
import { corkForThisTurn } from './write-batch.ts';

/** Close codes a client can act on (4000-4999 are the application's range). */
export const CloseCode = {
  goingAway: 1001,
  /** The connection kept sending frames it was refused (over its budget, or refused for what they are). */
  policyViolation: 1008,
  heartbeatTimeout: 4000,
  slowConsumer: 4008,
  replaced: 4009,
  /** The device's sign-in was revoked (a lost phone) after its token was issued. */
  revoked: 4001,
} as const;

/** Frames up to this size are copied behind their header and written as one buffer (sendBytes). */
const ONE_BUFFER_MAX_BYTES = 16 * 1024;

/**
 * One authenticated WebSocket. Its send buffer is bounded: a client that stops reading is disconnected with a
 * reason once `maxBufferedBytes` are queued, so a slow reader never makes the gateway's memory grow.
 */
export class Connection {
  lastSeenMs: number;
  /** When the token this connection was opened with was issued (its `iat`): a revocation after it cuts it. */
  tokenIssuedAtSec = 0;
  /** What it may still send in this rate-limit window. */
  readonly budget = new FrameBudget();
  /** The code the gateway closed it with, if it did (how operators learn why a client was cut off). */
  closedWith: number | undefined;

  constructor(
    readonly ws: WebSocket,
    readonly connId: string,
    readonly user: string,
    readonly device: string,
    readonly openedAtMs: number,
    private readonly maxBufferedBytes: number,
  ) {
    this.lastSeenMs = openedAtMs;
  }

  get isOpen(): boolean {
    return this.closedWith === undefined && this.ws.readyState === this.ws.OPEN;
  }

  /**
   * Queues an encoded frame; false if the connection is gone or was just cut off for not reading. A small frame
   * is framed here and written as one buffer: ws writes header and payload as two, which costs a cork, an uncork
   * and a writev per frame.
   */
  sendBytes(frame: Uint8Array): boolean {
    if (!this.admits(frame.length)) return false;
    corkForThisTurn(this.ws);
    if (frame.length <= ONE_BUFFER_MAX_BYTES) this.writeFramed(prepareFrame(frame), frame);
    else this.ws.send(frame, { binary: true });
    return true;
  }

  /**
   * Queues a bulk frame only if the send queue has room for it: 'full' leaves the connection open, for a sender
   * that paces itself (a catch-up) to try again once the client has read.
   */
  sendIfRoom(frame: Uint8Array): 'sent' | 'full' | 'gone' {
    if (!this.isOpen) return 'gone';
    if (this.ws.bufferedAmount + frame.length > this.maxBufferedBytes) return 'full';
    return this.sendBytes(frame) ? 'sent' : 'gone';
  }

  /**
   * Queues a message framed once for many connections (prepareFrame); `payload` is the same message unframed,
   * sent through ws instead when ws has frames of its own waiting.
   */
  sendPrepared(framed: Buffer, payload: Uint8Array): boolean {
    if (!this.admits(framed.length)) return false;
    corkForThisTurn(this.ws, true);
    this.writeFramed(framed, payload);
    return true;
  }

  /** The framed bytes straight to the socket, or the payload through ws while ws holds frames of its own back. */
  private writeFramed(framed: Buffer, payload: Uint8Array): void {
    const socket = rawSocketOf(this.ws);
    if (socket) socket.write(framed);
    else this.ws.send(payload, { binary: true });
  }

  /** Whether `bytes` more may be queued: false if the connection is gone, or is cut off now for not reading. */
  private admits(bytes: number): boolean {
    if (!this.isOpen) return false;
    if (this.ws.bufferedAmount + bytes > this.maxBufferedBytes) {
      this.close(CloseCode.slowConsumer, 'slow consumer: send queue full');
      return false;
    }
    return true;
  }

  send(frame: ServerFrame): boolean {
    return this.sendBytes(ServerFrame.encode(frame).finish());
  }

  sendError(requestId: number, code: ErrorCode, message: string, retryAfterMs = 0): boolean {
    return this.send({ requestId, body: { $case: 'error', value: { code, message, retryAfterMs } } });
  }

  /** Closes with a reason; a peer that does not answer the close handshake is cut off after a second. */
  close(code: number, reason: string): void {
    if (this.closedWith !== undefined) return;
    this.closedWith = code;
    this.ws.close(code, reason);
    setTimeout(() => this.ws.terminate(), 1_000).unref();
  }
}
