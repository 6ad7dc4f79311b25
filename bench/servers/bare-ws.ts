// The baseline: a bare `ws` server doing the gateway's job naively, in its own process. It checks the same tokens
// (so a connect costs the same signature check), speaks the same protobuf frames and runs the naive relay
// (bench/servers/relay.ts: pongs, a send straight to the recipient's socket, an in-memory array per user for
// GetDiff); fan-out is a loop of ws.send over every socket. Corking (several frames per socket in one write) is an
// option, to show what it buys.
import type { AddressInfo } from 'node:net';
import type { Socket } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { userAuth } from '../../app/user-auth.ts';
import { loadConfig } from '../../lib/config.ts';
import { createLogger } from '../../lib/logger.ts';
import type { TokenClaims } from '../../lib/token.ts';
import { encodeDeliver } from '../../push/index.ts';
import { LoopDelay, ProcessCpu } from '../lib/machine.ts';
import { wallMs } from '../lib/progress.ts';
import { serve } from '../lib/rpc.ts';
import { benchMessage, gcAndMeasure } from './common.ts';
import { Relay } from './relay.ts';

const { verify } = await userAuth(loadConfig(), 'embedded', createLogger('warn'));
const cpu = new ProcessCpu();
const loopDelay = new LoopDelay();
const relay = new Relay<WebSocket>();
const sockets = relay.sockets;
const claimsOf = new WeakMap<object, TokenClaims>();

const wss = new WebSocketServer({
  host: '127.0.0.1',
  port: 0,
  path: '/v1/ws',
  perMessageDeflate: false,
  maxPayload: 1024 * 1024,
  backlog: 511,
  verifyClient: (info, done) => {
    const header = info.req.headers.authorization ?? '';
    verify(header.replace(/^Bearer /, '')).then(
      (claims) => {
        claimsOf.set(info.req, claims);
        done(true);
      },
      () => done(false, 401, 'Unauthorized'),
    );
  },
});
await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
const port = (wss.address() as AddressInfo).port;

wss.on('connection', (ws, req) => {
  const claims = claimsOf.get(req)!;
  const user = claims.sub;
  ws.on('close', () => relay.close(ws, user));
  ws.on('error', () => undefined);
  ws.on('message', (data: Buffer) => relay.onMessage(ws, user, claims.dev, data));
  relay.open(ws, user, claims.dev);
});

function socketOf(ws: WebSocket): Socket | undefined {
  return (ws as unknown as { _socket?: Socket })._socket;
}

const handlers = {
  loopDelay() {
    return loopDelay.sample();
  },
  info() {
    return { url: `ws://127.0.0.1:${port}`, port, pid: process.pid };
  },
  memory(p: { gc: boolean }) {
    return { ...gcAndMeasure(p.gc), connections: sockets.size, cpu: cpu.sample() };
  },
  cpu() {
    return cpu.sample();
  },
  /** The naive broadcast: `rounds` times, ws.send of the same bytes to every socket; optionally corked per burst. */
  async fanout(p: { rounds: number; bytes: number; burst: number; cork: boolean }) {
    const frame = encodeDeliver([benchMessage(p.bytes)]);
    const all = [...sockets];
    cpu.sample();
    const startAt = wallMs();
    let delivered = 0;
    for (let r = 0; r < p.rounds; r++) {
      const first = r % p.burst === 0;
      for (const ws of all) {
        if (ws.readyState !== ws.OPEN) continue;
        if (p.cork && first) socketOf(ws)?.cork();
        ws.send(frame);
        delivered++;
      }
      if ((r + 1) % p.burst === 0 || r === p.rounds - 1) {
        if (p.cork) for (const ws of all) socketOf(ws)?.uncork();
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
    return { startAt, endAt: wallMs(), delivered, frameBytes: frame.length, cpu: cpu.sample() };
  },
};

export type BareServerApi = typeof handlers;

serve(handlers);
