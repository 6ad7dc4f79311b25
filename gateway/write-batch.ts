import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';

/**
 * Frames written to one socket during one turn of the event loop leave in at most two writes: the first frame of
 * the turn goes out at once (a socket that gets one frame per turn, the common case, pays nothing extra), and a
 * second frame corks the socket, so it and every later frame of the turn leave together once the turn ends
 * (setImmediate, after I/O callbacks and microtasks). A fan-out that hands several messages to the same
 * connections in one turn (a burst of Deliver calls, a catch-up page, a large group's messages) costs two
 * syscalls per socket instead of one per frame, and the first frame is never held back.
 *
 * A frame framed once for many connections (`holdFirst`: a large group's message, a Deliver item for many) corks
 * at once instead: its loop writes to thousands of sockets before the turn ends anyway, so holding its first frame
 * costs little, and every frame of the turn then leaves in one write per socket (decision 0013).
 */
const writtenThisTurn = new Set<Socket>();
const corked: Socket[] = [];
let scheduled = false;

export function corkForThisTurn(ws: WebSocket, holdFirst = false): void {
  const socket = socketOf(ws);
  if (!socket) return;
  if (!holdFirst && !writtenThisTurn.has(socket)) {
    writtenThisTurn.add(socket);
  } else if (socket.writableCorked === 0) {
    socket.cork();
    corked.push(socket);
  }
  if (!scheduled) {
    scheduled = true;
    setImmediate(endTurn);
  }
}

function endTurn(): void {
  scheduled = false;
  writtenThisTurn.clear();
  for (const socket of corked) socket.uncork();
  corked.length = 0;
}

/** ws keeps its net.Socket in a private field; the public API has no cork. */
export function socketOf(ws: WebSocket): Socket | undefined {
  return (ws as unknown as { _socket?: Socket })._socket;
}
