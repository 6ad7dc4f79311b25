// The floor under the idle baseline: Node holding the same upgraded sockets with no WebSocket layer at all. It
// answers the upgrade with a 101 and one fixed binary frame (the authResult the clients wait for), then only keeps
// the net.Socket and reads into nothing. What an idle connection costs here is what Node's own net.Socket and libuv
// handle cost: no server written in JavaScript on Node can hold a connection for less.
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { ServerFrame } from '../../proto/gen/im/v1/client.pb.ts';
import { ProcessCpu } from '../lib/machine.ts';
import { serve } from '../lib/rpc.ts';
import { gcAndMeasure } from './common.ts';

/** RFC 6455's fixed key suffix for Sec-WebSocket-Accept. */
const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

const cpu = new ProcessCpu();
const sockets = new Set<Socket>();
const hello = unmaskedBinaryFrame(
  ServerFrame.encode(
    ServerFrame.fromPartial({
      requestId: 0,
      body: {
        $case: 'authResult',
        value: { user: 'floor', device: 'd', connId: 'floor', heartbeatIntervalMs: 25_000 },
      },
    }),
  ).finish(),
);

const server = createServer((_req, res) => res.writeHead(404).end());
server.on('upgrade', (req, socket: Socket) => {
  const key = req.headers['sec-websocket-key'];
  if (typeof key !== 'string') return void socket.destroy();
  const accept = createHash('sha1')
    .update(key + WS_GUID)
    .digest('base64');
  socket.write(
    `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
  );
  socket.write(hello);
  sockets.add(socket);
  socket.on('data', () => undefined);
  socket.on('error', () => socket.destroy());
  socket.on('close', () => sockets.delete(socket));
});
await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0, backlog: 511 }, resolve));
const port = (server.address() as AddressInfo).port;

/** A server-to-client frame: FIN, binary opcode, no mask; payloads here are under 126 bytes. */
function unmaskedBinaryFrame(payload: Uint8Array): Buffer {
  if (payload.length >= 126) throw new Error('floor: the hello frame must stay under 126 bytes');
  return Buffer.concat([Buffer.from([0x82, payload.length]), payload]);
}

const handlers = {
  info() {
    return { url: `ws://127.0.0.1:${port}`, port, pid: process.pid };
  },
  memory(p: { gc: boolean }) {
    return { ...gcAndMeasure(p.gc), connections: sockets.size, cpu: cpu.sample() };
  },
};

export type BareSocketServerApi = typeof handlers;

serve(handlers);
