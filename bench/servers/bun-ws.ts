// The ceiling baseline: Bun's built-in WebSocket server (uWebSockets inside), run by the `bun` binary from npm,
// doing what bench/servers/bare-ws.ts does: the same token check at the upgrade, the same naive relay
// (bench/servers/relay.ts: pongs, chat, GetDiff), and for fan-out a loop of ws.send of the same bytes over every
// socket (optionally corked per burst). Started by the runner with `bun` instead of node (bench/lib/bun.ts), over
// JSON IPC.
import { userAuth } from '../../app/user-auth.ts';
import { loadConfig } from '../../lib/config.ts';
import { createLogger } from '../../lib/logger.ts';
import { encodeDeliver } from '../../push/index.ts';
import { LoopDelay, ProcessCpu } from '../lib/machine.ts';
import { wallMs } from '../lib/progress.ts';
import { serve } from '../lib/rpc.ts';
import { benchMessage } from './common.ts';
import { Relay } from './relay.ts';

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
    fetch(req: Request, server: BunServer): Response | undefined | Promise<Response | undefined>;
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

const { verify } = await userAuth(loadConfig(), 'embedded', createLogger('warn'));
const cpu = new ProcessCpu();
const loopDelay = new LoopDelay();
const relay = new Relay<BunSocket>();
const sockets = relay.sockets;

const server = Bun.serve({
  hostname: '127.0.0.1',
  port: 0,
  fetch(req, srv) {
    if (new URL(req.url).pathname !== '/v1/ws') return new Response('not found', { status: 404 });
    return verify((req.headers.get('authorization') ?? '').replace(/^Bearer /, '')).then(
      (claims) =>
        srv.upgrade(req, { data: { user: claims.sub, device: claims.dev } })
          ? undefined
          : new Response('expected a WebSocket upgrade', { status: 400 }),
      () => new Response('Unauthorized', { status: 401 }),
    );
  },
  websocket: {
    maxPayloadLength: 1024 * 1024,
    perMessageDeflate: false,
    open(ws) {
      relay.open(ws, ws.data.user, ws.data.device);
    },
    message(ws, data) {
      if (typeof data !== 'string') relay.onMessage(ws, ws.data.user, ws.data.device, data);
    },
    close(ws) {
      relay.close(ws, ws.data.user);
    },
  },
});

const handlers = {
  loopDelay() {
    return loopDelay.sample();
  },
  cpu() {
    return cpu.sample();
  },
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
