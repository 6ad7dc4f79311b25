import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';

/**
 * Frames written to one socket during one turn of the event loop leave in one write: the socket is corked at its
 * first frame of the turn and every corked socket is uncorked together once the turn ends (setImmediate, after
 * I/O callbacks and microtasks). A fan-out that hands several messages to the same connections in one turn (a
 * burst of Deliver calls, a catch-up page, a large group's messages) costs one syscall per socket instead of one
 * per frame. It adds at most one loop turn of latency, which is the price every batching server pays.
 */
const corked = new Set<Socket>();
let scheduled = false;

export function corkForThisTurn(ws: WebSocket): void {
  const socket = socketOf(ws);
  if (!socket || corked.has(socket)) return;
  socket.cork();
  corked.add(socket);
  if (!scheduled) {
    scheduled = true;
    setImmediate(uncorkAll);
  }
}

function uncorkAll(): void {
  scheduled = false;
  for (const socket of corked) socket.uncork();
  corked.clear();
}

/** ws keeps its net.Socket in a private field; the public API has no cork. */
function socketOf(ws: WebSocket): Socket | undefined {
  return (ws as unknown as { _socket?: Socket })._socket;
}
