// The baseline: a bare `ws` server doing the gateway's job naively, in its own process. It checks the same tokens
// (so a connect costs the same signature check), speaks the same protobuf frames and answers pings; for chat it
// relays a send straight to the recipient's socket and appends it to an in-memory array per user (no bus, no
// dedupe, no durability, nothing shared with another process); GetDiff pages that array; fan-out is a loop of
// ws.send over every socket. Corking (several frames per socket in one write) is an option, to show what it buys.
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Socket } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { ClientFrame, ServerFrame } from '../../proto/gen/im/v1/client.pb.ts';
import { Message } from '../../proto/gen/im/v1/message.pb.ts';
import { loadOrCreateDevKey } from '../../lib/dev-key.ts';
import { tokenVerifier, type TokenClaims } from '../../lib/token.ts';
import { encodeDeliver } from '../../push/index.ts';
import { LoopDelay, ProcessCpu } from '../lib/machine.ts';
import { wallMs } from '../lib/progress.ts';
import { serve } from '../lib/rpc.ts';
import { benchMessage, gcAndMeasure } from './common.ts';

const verify = await tokenVerifier((await loadOrCreateDevKey()).publicKey);
const cpu = new ProcessCpu();
const loopDelay = new LoopDelay();
const sockets = new Set<WebSocket>();
const byUser = new Map<string, Set<WebSocket>>();
const inbox = new Map<string, Message[]>();
const groups = new Map<string, string[]>();
const claimsOf = new WeakMap<object, TokenClaims>();
let msgCounter = 0;

const wss = new WebSocketServer({
  host: '127.0.0.1',
  port: 0,
  path: '/v1/ws',
  perMessageDeflate: false,
  maxPayload: 1024 * 1024,
  backlog: 511,
  verifyClient: (info, done) => {
    const header = info.req.headers.authorization ?? '';
    try {
      claimsOf.set(info.req, verify(header.replace(/^Bearer /, '')));
      done(true);
    } catch {
      done(false, 401, 'Unauthorized');
    }
  },
});
await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
const port = (wss.address() as AddressInfo).port;

/** fromPartial: fields the protocol gains later default to empty, so the baseline keeps compiling. */
const send = (ws: WebSocket, frame: DeepPartialFrame) =>
  ws.send(ServerFrame.encode(ServerFrame.fromPartial(frame)).finish());
type DeepPartialFrame = Parameters<typeof ServerFrame.fromPartial>[0];

wss.on('connection', (ws, req) => {
  const claims = claimsOf.get(req)!;
  const user = claims.sub;
  sockets.add(ws);
  let mine = byUser.get(user);
  if (!mine) byUser.set(user, (mine = new Set()));
  mine.add(ws);
  ws.on('close', () => {
    sockets.delete(ws);
    byUser.get(user)?.delete(ws);
  });
  ws.on('error', () => undefined);
  ws.on('message', (data: Buffer) => onMessage(ws, user, claims.dev, data));
  send(ws, {
    requestId: 0,
    body: {
      $case: 'authResult',
      value: {
        user,
        device: claims.dev,
        connId: randomUUID(),
        serverTimeMs: Date.now(),
        heartbeatIntervalMs: 25_000,
        maxFrameBytes: 65_536,
      },
    },
  });
});

function append(user: string, m: Parameters<typeof Message.fromPartial>[0]): Message {
  let list = inbox.get(user);
  if (!list) inbox.set(user, (list = []));
  const stored = Message.fromPartial({ ...m, seq: list.length + 1 });
  list.push(stored);
  return stored;
}

function onMessage(ws: WebSocket, user: string, device: string, data: Buffer): void {
  let frame: ClientFrame;
  try {
    frame = ClientFrame.decode(data);
  } catch {
    return;
  }
  const { requestId, body } = frame;
  switch (body?.$case) {
    case 'ping':
      return send(ws, {
        requestId,
        body: { $case: 'pong', value: { clientTimeMs: body.value.clientTimeMs, serverTimeMs: Date.now() } },
      });
    case 'send': {
      const s = body.value;
      const kind = s.to?.kind;
      if (!kind) return;
      const recipients = kind.$case === 'user' ? [kind.value] : (groups.get(kind.value) ?? []);
      const conversation = kind.$case === 'user' ? `dm:${[user, kind.value].sort().join(':')}` : `group:${kind.value}`;
      const base = {
        serverMsgId: String(++msgCounter),
        conversation,
        fromUser: user,
        fromDevice: device,
        clientMsgId: s.clientMsgId,
        stream: 'inbox',
        sentAtMs: Date.now(),
        contentType: s.contentType,
        body: s.body,
      };
      for (const r of recipients) {
        if (r === user) continue;
        const stored = append(r, base);
        for (const peer of byUser.get(r) ?? []) peer.send(encodeDeliver([stored]));
      }
      const own = append(user, base);
      return send(ws, {
        requestId,
        body: {
          $case: 'sendResult',
          value: {
            clientMsgId: s.clientMsgId,
            serverMsgId: base.serverMsgId,
            conversation,
            seq: own.seq,
            sentAtMs: base.sentAtMs,
          },
        },
      });
    }
    case 'sync': {
      const list = inbox.get(user) ?? [];
      const after = Number(body.value.syncKey || '0');
      const limit = Math.min(500, body.value.limit || 100);
      const messages = list.slice(after, after + limit);
      const last = messages.at(-1)?.seq ?? after;
      return send(ws, {
        requestId,
        body: {
          $case: 'sync',
          value: { messages, syncKey: String(last), hasMore: last < list.length, reset: false, inboxSeq: last },
        },
      });
    }
    case 'ack':
      return send(ws, {
        requestId,
        body: { $case: 'ackResult', value: { syncKey: body.value.syncKey, inboxSeq: body.value.inboxSeq } },
      });
    case 'groupCreate': {
      const id = randomUUID();
      const members = [...new Set([user, ...body.value.members])];
      groups.set(id, members);
      return send(ws, {
        requestId,
        body: {
          $case: 'group',
          value: { groupId: id, name: body.value.name, owner: user, memberCount: members.length },
        },
      });
    }
    default:
      return;
  }
}

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
