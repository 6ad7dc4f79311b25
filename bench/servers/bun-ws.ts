// The ceiling baseline: Bun's built-in WebSocket server (uWebSockets inside), run by the `bun` binary from npm,
// doing what bench/servers/bare-ws.ts does: the same token check at the upgrade, the same protobuf frames, pongs,
// and for fan-out a loop of ws.send of the same bytes over every socket (optionally corked per burst). Started by
// the runner with `bun` instead of node (bench/lib/bun.ts), over JSON IPC.
import { loadOrCreateDevKey } from '../../lib/dev-key.ts';
import { tokenVerifier } from '../../lib/token.ts';
import { ClientFrame, ServerFrame } from '../../proto/gen/im/v1/client.pb.ts';
import { encodeDeliver } from '../../push/index.ts';
import { ProcessCpu } from '../lib/machine.ts';
import { wallMs } from '../lib/progress.ts';
import { serve } from '../lib/rpc.ts';
import { benchMessage } from './common.ts';

/** The part of Bun's API used here (the project does not depend on Bun's type package). */
interface BunSocket {
  data: { user: string; device: string };
  send(data: Uint8Array): number;
  cork(callback: () => void): void;
}
interface BunServer {
  port: number;
  upgrade(req: Request, options: { data: BunSocket['data'] }): boolean;
}
interface BunApi {
  version: string;
  gc(full: boolean): void;
  serve(options: {
    hostname: string;
    port: number;
    fetch(req: Request, server: BunServer): Response | undefined;
    websocket: {
      maxPayloadLength: number;
      perMessageDeflate: boolean;
      open(ws: BunSocket): void;
      message(ws: BunSocket, data: string | Uint8Array): void;
      close(ws: BunSocket): void;
    };
  }): BunServer;
}
const Bun = (globalThis as unknown as { Bun?: BunApi }).Bun;
if (!Bun) throw new Error('bench/servers/bun-ws.ts runs under bun, not node');

const verify = await tokenVerifier((await loadOrCreateDevKey()).publicKey);
const cpu = new ProcessCpu();
const sockets = new Set<BunSocket>();
let connCounter = 0;

const frameOf = (frame: Parameters<typeof ServerFrame.fromPartial>[0]) =>
  ServerFrame.encode(ServerFrame.fromPartial(frame)).finish();

const server = Bun.serve({
  hostname: '127.0.0.1',
  port: 0,
  fetch(req, srv) {
    if (new URL(req.url).pathname !== '/v1/ws') return new Response('not found', { status: 404 });
    let claims;
    try {
      claims = verify((req.headers.get('authorization') ?? '').replace(/^Bearer /, ''));
    } catch {
      return new Response('Unauthorized', { status: 401 });
    }
    if (srv.upgrade(req, { data: { user: claims.sub, device: claims.dev } })) return undefined;
    return new Response('expected a WebSocket upgrade', { status: 400 });
  },
  websocket: {
    maxPayloadLength: 1024 * 1024,
    perMessageDeflate: false,
    open(ws) {
      sockets.add(ws);
      const { user, device } = ws.data;
      ws.send(
        frameOf({
          requestId: 0,
          body: {
            $case: 'authResult',
            value: {
              user,
              device,
              connId: `bun-${++connCounter}`,
              serverTimeMs: Date.now(),
              heartbeatIntervalMs: 25_000,
            },
          },
        }),
      );
    },
    message(ws, data) {
      if (typeof data === 'string') return;
      let frame;
      try {
        frame = ClientFrame.decode(data);
      } catch {
        return;
      }
      if (frame.body?.$case === 'ping') {
        ws.send(
          frameOf({
            requestId: frame.requestId,
            body: { $case: 'pong', value: { clientTimeMs: frame.body.value.clientTimeMs, serverTimeMs: Date.now() } },
          }),
        );
      }
    },
    close(ws) {
      sockets.delete(ws);
    },
  },
});

const handlers = {
  info() {
    return { url: `ws://127.0.0.1:${server.port}`, port: server.port, pid: process.pid, version: Bun.version };
  },
  memory(p: { gc: boolean }) {
    if (p.gc) Bun.gc(true);
    const m = process.memoryUsage();
    return { rss: m.rss, heapUsed: m.heapUsed, connections: sockets.size, cpu: cpu.sample() };
  },
  /** As bare ws: `rounds` times, ws.send of the same bytes to every socket; optionally corked per burst. */
  async fanout(p: { rounds: number; bytes: number; burst: number; cork: boolean }) {
    const frame = encodeDeliver([benchMessage(p.bytes)]);
    const all = [...sockets];
    cpu.sample();
    const startAt = wallMs();
    let delivered = 0;
    const send = (ws: BunSocket) => void (ws.send(frame) !== 0 && delivered++);
    for (let r = 0; r < p.rounds; r += p.burst) {
      const burst = Math.min(p.burst, p.rounds - r);
      // Corked: a socket's frames of the burst in one cork (Bun corks per callback). Naive: round by round.
      if (p.cork) for (const ws of all) ws.cork(() => Array.from({ length: burst }, () => send(ws)));
      else for (let i = 0; i < burst; i++) for (const ws of all) send(ws);
      await new Promise((resolve) => setImmediate(resolve));
    }
    return { startAt, endAt: wallMs(), delivered, frameBytes: frame.length, cpu: cpu.sample() };
  },
};

export type BunServerApi = typeof handlers;

serve(handlers);
