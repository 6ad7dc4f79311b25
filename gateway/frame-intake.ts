import { ClientFrame } from '../proto/gen/im/v1/client.pb.ts';
import type { ErrorCode } from '../lib/errors.ts';
import { CloseCode, type Connection } from './connection.ts';
import type { FrameLimits } from './frame-budget.ts';
import type { FrameHandler } from './frame-handler.ts';
import type { RefusalReason, Refusals } from './refusals.ts';

export interface FrameIntakeOptions {
  limits: FrameLimits;
  /** Frames above this get a TOO_LARGE error frame; the connection stays. */
  maxFrameBytes: number;
}

/**
 * The door every client frame comes through: it is charged to the connection's budget first (by count and bytes,
 * whatever it is), then refused for what it is (text, too large, undecodable) or handed to the FrameHandler. A frame
 * over the budget costs a comparison: no decode, and no reply after the first refusal of a window.
 */
export class FrameIntake {
  constructor(
    private readonly handler: FrameHandler,
    private readonly refusals: Refusals,
    private readonly options: FrameIntakeOptions,
  ) {}

  onFrame(conn: Connection, data: Buffer, isBinary: boolean): void {
    const now = Date.now();
    conn.lastSeenMs = now;
    const { limits, maxFrameBytes } = this.options;
    const verdict = conn.budget.charge(now, data.length, limits);
    if (verdict === 'drop') return;
    if (verdict === 'close') return this.cutOff(conn);
    if (verdict === 'refuse') {
      this.refusals.recordFor('rate_limited', conn);
      const message = `more than ${limits.frames} frames or ${limits.bytes} bytes in ${limits.windowMs / 1000}s; slow down`;
      conn.sendError(leadingRequestId(data), 'RATE_LIMITED', message, Math.max(1, conn.budget.msLeft(now)));
      return;
    }
    if (!isBinary) {
      return this.refuse(
        conn,
        'text_frame',
        0,
        'BAD_FRAME',
        'text frames are not accepted: send binary protobuf ClientFrames',
      );
    }
    if (data.length > maxFrameBytes) {
      const message = `frame is ${data.length} bytes; the limit is ${maxFrameBytes}`;
      return this.refuse(conn, 'too_large', leadingRequestId(data), 'TOO_LARGE', message);
    }
    let frame: ClientFrame;
    try {
      frame = ClientFrame.decode(data);
    } catch {
      return this.refuse(conn, 'bad_frame', 0, 'BAD_FRAME', 'frame is not a valid ClientFrame protobuf');
    }
    void this.handler.handle(conn, frame);
  }

  private refuse(conn: Connection, reason: RefusalReason, requestId: number, code: ErrorCode, message: string) {
    if (conn.budget.refuse(this.options.limits) === 'close') return this.cutOff(conn);
    this.refusals.recordFor(reason, conn);
    conn.sendError(requestId, code, message);
  }

  private cutOff(conn: Connection): void {
    if (!conn.isOpen) return;
    this.refusals.recordFor('refused_too_often', conn);
    conn.close(CloseCode.policyViolation, 'too many refused frames');
  }
}

/**
 * The request id of a frame refused before it is decoded, so the client can match the answer: field 1 is written
 * first (tag 0x08, a varint), read here from the first bytes alone; 0 when the frame does not start with it.
 */
export function leadingRequestId(data: Uint8Array): number {
  if (data[0] !== 0x08) return 0;
  let value = 0;
  for (let i = 1, shift = 0; i < Math.min(data.length, 6); i++, shift += 7) {
    const byte = data[i]!;
    value += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) return value >>> 0;
  }
  return 0;
}
