import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import { socketOf } from './write-batch.ts';

/**
 * A server-to-client WebSocket binary message, framed once (RFC 6455 section 5.2: FIN, opcode 2, unmasked), so a
 * fan-out writes the same bytes to every socket instead of framing the payload again per socket (the idea of
 * gorilla/websocket's PreparedMessage). Only for connections without permessage-deflate (ours have none).
 */
export function prepareFrame(payload: Uint8Array): Buffer {
  const n = payload.length;
  const header = n < 126 ? 2 : n < 65_536 ? 4 : 10;
  const framed = Buffer.allocUnsafe(header + n);
  framed[0] = 0x82;
  if (n < 126) framed[1] = n;
  else if (n < 65_536) {
    framed[1] = 126;
    framed.writeUInt16BE(n, 2);
  } else {
    framed[1] = 127;
    framed.writeBigUInt64BE(BigInt(n), 2);
  }
  framed.set(payload, header);
  return framed;
}

/** ws's private sender state a raw write must respect: frames it holds back (compressing, reading a Blob). */
interface WsSender {
  _sender?: { _queue: unknown[]; _state: number };
}

/**
 * The socket to write a prepared frame to directly, or undefined when ws has frames of its own waiting (a raw
 * write would overtake them; the caller then sends through ws). ws exposes no API for pre-framed bytes.
 */
export function rawSocketOf(ws: WebSocket): Socket | undefined {
  const sender = (ws as unknown as WsSender)._sender;
  if (!sender || sender._state !== 0 || sender._queue.length > 0) return undefined;
  return socketOf(ws);
}
