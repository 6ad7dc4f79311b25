// A client worker process: holds many raw WebSocket clients (binary protobuf frames, as the SDK speaks them) and
// does what the runner asks over IPC: open, ping, count frames, send at a fixed rate, page GetDiff, reconnect
// storms. Raw `ws` sockets rather than ImClient, so one process holds thousands with little memory and each can
// be bound to a chosen 127.0.0.x source address. Every loop here is bounded in count and in time.
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import WebSocket from 'ws';
import { ClientFrame, ServerFrame } from '../../proto/gen/im/v1/client.pb.ts';
import type { Message } from '../../proto/gen/im/v1/message.pb.ts';
import { bufferView } from '../../lib/buffer-view.ts';
import { partitionFor } from '../../lib/bus.ts';
import { localSigner, type LocalAuth } from '../../lib/local-auth.ts';
import type { TokenSigner } from '../../lib/token.ts';
import { signRequest } from '../../logic/notices/request-signature.ts';
import { expectReply, type ReplyBody } from '../../client/reply.ts';
import { Histogram, type HistogramData } from '../lib/histogram.ts';
import { ProcessCpu } from '../lib/machine.ts';
import { sleep, wallMs } from '../lib/progress.ts';
import { serve } from '../lib/rpc.ts';

/** Bench messages carry [float64 intended send time (wall ms)][uint32 step][uint32 index] in their body. */
export const BENCH_CONTENT_TYPE = 'application/x-bench';

type RequestBody = NonNullable<ClientFrame['body']>;

interface Sock {
  user: string;
  device: string;
  url: string;
  localAddress: string;
  ws: WebSocket | undefined;
  connId: string;
  /** Signed at the first connect and kept, as a device keeps the token it was issued: reconnects reuse it. */
  token: string;
  syncKey: string;
  inboxSeq: number;
  frames: number;
  /** Fan-out: whether this socket's frames are being counted (countFrames). */
  counted: boolean;
  pongs: number;
  doneAt: number;
  /** Storm: ids of the messages tagged for the storm that this client has (pushed or pulled). */
  seen: Set<string> | undefined;
}

const socks: Sock[] = [];
const pending = new Map<number, { resolve(b: ReplyBody): void; reject(e: Error): void; timer: NodeJS.Timeout }>();
let nextRequestId = 1;
let signer: TokenSigner | undefined;
const cpu = new ProcessCpu();

const counters = {
  frames: 0,
  bytes: 0,
  pongs: 0,
  sendOk: 0,
  sendErrors: {} as Record<string, number>,
  delivered: 0,
  duplicates: 0,
  errors: {} as Record<string, number>,
  closes: {} as Record<string, number>,
};

/** Fan-out: frames each socket must get (after reset) before it counts as done; 0 = decode everything. */
let countTarget = 0;
let doneCount = 0;
/** Latency per step, from the intended send time in each bench message's body to its arrival here. */
const latency = new Map<number, Histogram>();
const deliveredByStep = new Map<number, number>();
const seenByStep = new Map<number, Set<string>>();

const bump = (rec: Record<string, number>, key: string) => (rec[key] = (rec[key] ?? 0) + 1);

function onFrame(sock: Sock, data: Buffer): void {
  sock.frames++;
  counters.frames++;
  counters.bytes += data.length;
  if (countTarget > 0 && sock.connId !== '') {
    if (sock.counted && sock.frames === countTarget) {
      sock.doneAt = wallMs();
      doneCount++;
    }
    return;
  }
  let frame: ServerFrame;
  try {
    frame = ServerFrame.decode(data);
  } catch {
    bump(counters.errors, 'undecodable frame');
    return;
  }
  const body = frame.body;
  if (!body) return;
  switch (body.$case) {
    case 'authResult':
      sock.connId = body.value.connId;
      return;
    case 'pong':
      counters.pongs++;
      sock.pongs++;
      break;
    case 'sendResult':
      counters.sendOk++;
      break;
    case 'deliver':
      onDeliver(sock, body.value.messages);
      return;
    case 'error':
      if (frame.requestId === 0) return void bump(counters.errors, body.value.code);
      break;
    default:
      break;
  }
  const p = pending.get(frame.requestId);
  if (!p) {
    if (body.$case === 'error') bump(counters.sendErrors, body.value.code);
    return;
  }
  pending.delete(frame.requestId);
  clearTimeout(p.timer);
  if (body.$case === 'error') p.reject(new ServerError(body.value.code, body.value.message, body.value.retryAfterMs));
  else p.resolve(body);
}

/** Backlog messages carry a tag where latency messages carry their step. */
let stormTag = -1;
function tagOf(m: Message): number {
  if (m.contentType !== BENCH_CONTENT_TYPE || m.body.length < 16) return -1;
  return bufferView(m.body).readUInt32LE(8);
}

/**
 * Notices: the wall time each socket first got each notice whose app message_id starts with the watched prefix
 * (live deliveries only; at-least-once, so a repeat on one socket counts once). Bounded: at most NOTICE_RECEIPTS_MAX
 * receipts are kept, the rest counted as dropped.
 */
let noticePrefix: string | undefined;
const noticeReceipts = new Map<string, { at: number[]; socks: Set<Sock> }>();
let noticeReceiptsKept = 0;
let noticeReceiptsDropped = 0;
const NOTICE_RECEIPTS_MAX = 2_000_000;

function onNotice(sock: Sock, m: Message, now: number): void {
  if (noticePrefix === undefined || m.op || !m.clientMsgId.startsWith(noticePrefix)) return;
  let r = noticeReceipts.get(m.clientMsgId);
  if (!r) noticeReceipts.set(m.clientMsgId, (r = { at: [], socks: new Set() }));
  if (r.socks.has(sock)) {
    counters.duplicates++;
    return;
  }
  if (noticeReceiptsKept >= NOTICE_RECEIPTS_MAX) {
    noticeReceiptsDropped++;
    return;
  }
  r.socks.add(sock);
  r.at.push(now);
  noticeReceiptsKept++;
}

function onDeliver(sock: Sock, messages: Message[]): void {
  const now = wallMs();
  for (const m of messages) {
    if (m.notice) {
      onNotice(sock, m, now);
      continue;
    }
    // A sender's own devices get its messages too: only the recipient's copy counts.
    if (m.contentType !== BENCH_CONTENT_TYPE || m.body.length < 16 || m.fromUser === sock.user) continue;
    if (sock.seen) {
      if (tagOf(m) === stormTag) sock.seen.add(m.serverMsgId);
      continue;
    }
    const view = bufferView(m.body);
    const sentAt = view.readDoubleLE(0);
    const step = view.readUInt32LE(8);
    // At-least-once: a message may come twice (live push and the catch-up of a device coming online); count once.
    let seen = seenByStep.get(step);
    if (!seen) seenByStep.set(step, (seen = new Set()));
    // Per receiving socket: a group message reaches many sockets of this process, each counts.
    const id = `${sock.user}/${sock.device}:${m.fromUser}:${view.readUInt32LE(12)}`;
    if (seen.has(id)) {
      counters.duplicates++;
      continue;
    }
    seen.add(id);
    let h = latency.get(step);
    if (!h) latency.set(step, (h = new Histogram()));
    h.record(now - sentAt);
    deliveredByStep.set(step, (deliveredByStep.get(step) ?? 0) + 1);
    counters.delivered++;
  }
}

/** An error frame, or a refused upgrade; `retryAfterMs` > 0 when the server said when to come back. */
class ServerError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly retryAfterMs = 0,
  ) {
    // The message is what error tallies count by: the code and the gist, not the varying hint.
    super(retryAfterMs > 0 ? `${code}: busy, retry later` : `${code}: ${message}`);
  }
}

function takeRequestId(): number {
  if (nextRequestId >= 0xfffffff0) nextRequestId = 1;
  return nextRequestId++;
}

function request(sock: Sock, body: RequestBody, timeoutMs = 10_000): Promise<ReplyBody> {
  const ws = sock.ws;
  if (!ws || ws.readyState !== WebSocket.OPEN) return Promise.reject(new Error('not connected'));
  const requestId = takeRequestId();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      pending.delete(requestId);
      reject(new Error(`no answer to ${body.$case} within ${timeoutMs} ms`));
    }, timeoutMs);
    pending.set(requestId, { resolve, reject, timer });
    ws.send(ClientFrame.encode({ requestId, body }).finish());
  });
}

async function getDiff(sock: Sock, syncKey: string, limit: number) {
  return expectReply(await request(sock, { $case: 'sync', value: { syncKey, limit } }), 'sync');
}

/** What the SDK sends once it has shown what a sync brought: the device's cursor and key move to `inboxSeq`. */
async function ack(sock: Sock, syncKey: string, inboxSeq: number) {
  return expectReply(await request(sock, { $case: 'ack', value: { syncKey, inboxSeq, streams: [] } }), 'ackResult');
}

/**
 * `attempt` until it is not refused as busy: a busy server's retry hint (an error frame, or a refused upgrade) is
 * waited out as it says, until `deadline`; each refusal is counted in `tally`.
 */
async function whenServed<T>(attempt: () => Promise<T>, deadline: number, tally?: Record<string, number>): Promise<T> {
  for (;;) {
    try {
      return await attempt();
    } catch (err) {
      if (!(err instanceof ServerError) || err.retryAfterMs <= 0 || wallMs() + err.retryAfterMs > deadline) throw err;
      if (tally) bump(tally, err.message);
      await sleep(err.retryAfterMs);
    }
  }
}

/** Opens one socket; resolves once the server's AuthResult arrived. */
function connect(sock: Sock, timeoutMs: number): Promise<void> {
  if (!signer) throw new Error('open() first: no signing key');
  sock.token ||= signer.sign(sock.user, sock.device, 3600);
  const token = sock.token;
  // Like the SDK: a client that syncs on connect asks push for no catch-up delivery.
  const ws = new WebSocket(`${sock.url}/v1/ws?catch_up=0`, {
    headers: { authorization: `Bearer ${token}` },
    perMessageDeflate: false,
    localAddress: sock.localAddress,
    handshakeTimeout: timeoutMs,
  });
  sock.ws = ws;
  sock.connId = '';
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error('timeout'));
    }, timeoutMs);
    ws.on('message', (data: Buffer) => {
      onFrame(sock, data);
      if (sock.connId !== '') {
        clearTimeout(timer);
        resolve();
      }
    });
    ws.once('unexpected-response', (_req, res) => {
      clearTimeout(timer);
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => {
        let hint = 0;
        try {
          hint = (JSON.parse(text) as { retryAfterMs?: number }).retryAfterMs ?? 0;
        } catch {
          // not JSON
        }
        reject(new ServerError(`HTTP ${res.statusCode}`, text.slice(0, 100), hint));
        ws.terminate();
      });
    });
    ws.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new Error(err.code ?? err.message));
    });
    ws.once('close', (code) => {
      if (sock.ws === ws) sock.ws = undefined;
      bump(counters.closes, String(code));
      clearTimeout(timer);
      reject(new Error(`closed ${code}`));
    });
  });
}

/** Runs `fn` over `items` with at most `concurrency` at once, stopping new work after `deadline` (wall ms). */
async function pool<T>(items: T[], concurrency: number, deadline: number, fn: (item: T) => Promise<void>) {
  let next = 0;
  const lanes = Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, async () => {
    while (next < items.length && wallMs() < deadline) {
      const item = items[next++]!;
      await fn(item);
    }
  });
  await Promise.all(lanes);
}

// Heartbeats: every socket sends a Ping once per `pingMs`, spread over the interval (one timer for all).
let pingTimer: NodeJS.Timeout | undefined;
const PING = Buffer.from(
  ClientFrame.encode({ requestId: 0, body: { $case: 'ping', value: { clientTimeMs: 0 } } }).finish(),
);
let pingEveryMs = 0;
/**
 * Starts (or keeps) the heartbeat rotation: socket i pings in slot i % slots of each interval. Slots are due by the
 * clock, not by timer ticks, so a busy event loop (opening thousands of sockets) catches up on late slots instead of
 * skipping them; and a later `open` with the same interval keeps the rotation rather than restarting it (a restart
 * before the interval ends would starve the last slots).
 */
function startPings(pingMs: number): void {
  if (pingMs === pingEveryMs && pingTimer) return;
  clearInterval(pingTimer);
  pingTimer = undefined;
  pingEveryMs = pingMs;
  if (pingMs <= 0) return;
  const tickMs = 100;
  const slots = Math.max(1, Math.round(pingMs / tickMs));
  const start = Date.now();
  let done = 0; // ticks whose slot has pinged
  pingTimer = setInterval(() => {
    const due = Math.floor((Date.now() - start) / tickMs) + 1;
    // A whole interval late at most: every slot once.
    for (done = Math.max(done, due - slots); done < due; done++) {
      for (let i = done % slots; i < socks.length; i += slots) {
        const ws = socks[i]!.ws;
        if (ws?.readyState === WebSocket.OPEN) ws.send(PING);
      }
    }
  }, tickMs);
}

function memory() {
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, cpu: cpu.sample() };
}

function openCount(from = 0): number {
  let n = 0;
  for (let i = from; i < socks.length; i++) if (socks[i]!.ws?.readyState === WebSocket.OPEN) n++;
  return n;
}

export interface OpenParams {
  urls: string[];
  users: string[];
  device: string;
  /** Source addresses to spread sockets over (round robin); each 127.0.0.x has its own ephemeral ports. */
  localAddresses: string[];
  concurrency: number;
  auth: LocalAuth;
  timeoutMs: number;
  /** Send a Ping this often per socket (0: none). */
  pingMs: number;
  wantConnIds?: boolean;
}

const handlers = {
  async open(p: OpenParams) {
    signer ??= localSigner(p.auth);
    const first = socks.length;
    const added: Sock[] = p.users.map((user, i) => ({
      user,
      device: p.device,
      url: p.urls[p.urls.length === 1 ? 0 : partitionFor(`${user}/${p.device}`, p.urls.length)]!,
      localAddress: p.localAddresses[i % p.localAddresses.length]!,
      ws: undefined,
      connId: '',
      token: '',
      syncKey: '',
      inboxSeq: 0,
      frames: 0,
      counted: false,
      pongs: 0,
      doneAt: 0,
      seen: undefined,
    }));
    socks.push(...added);
    const errors: Record<string, number> = {};
    const t0 = wallMs();
    let opened = 0;
    // Heartbeats from the start: a socket opened early must not go silent while the rest are still opening.
    startPings(p.pingMs);
    await pool(added, p.concurrency, t0 + p.timeoutMs, (s) =>
      whenServed(() => connect(s, Math.min(30_000, p.timeoutMs)), t0 + p.timeoutMs).then(
        () => void opened++,
        (err: Error) => void bump(errors, err.message),
      ),
    );
    const ms = wallMs() - t0;
    return {
      first,
      opened,
      failed: added.length - opened,
      errors,
      ms,
      connIds: p.wantConnIds ? added.map((s) => s.connId) : [],
    };
  },

  /** `from`: count only sockets from this index on (those opened to a later server of the run). */
  stats(p: { from?: number }) {
    const from = p.from ?? 0;
    const pongs = from === 0 ? counters.pongs : socks.slice(from).reduce((a, s) => a + s.pongs, 0);
    return { open: openCount(from), total: socks.length, ...counters, pongs, ...memory(), pending: pending.size };
  },

  /**
   * Fan-out: count raw frames per socket from now on; a socket is done at `target` frames. Only the sockets from
   * index `from` (default all), up to `count` of them, are counted: those of the server being measured.
   */
  countFrames(p: { target: number; from?: number; count?: number }) {
    countTarget = p.target;
    doneCount = 0;
    const from = p.from ?? 0;
    const to = from + (p.count ?? socks.length);
    socks.forEach((s, i) => {
      s.counted = i >= from && i < to;
      s.frames = 0;
      s.doneAt = 0;
    });
    return { sockets: to - from };
  },

  async waitFrames(p: { timeoutMs: number }) {
    const deadline = wallMs() + p.timeoutMs;
    const counted = socks.filter((s) => s.counted);
    const want = counted.filter((s) => s.ws?.readyState === WebSocket.OPEN).length;
    while (doneCount < want && wallMs() < deadline) await sleep(5);
    let last = 0;
    let frames = 0;
    for (const s of counted) {
      last = Math.max(last, s.doneAt);
      frames += s.frames;
    }
    const result = { done: doneCount, of: want, lastAt: last, frames };
    countTarget = 0;
    return result;
  },

  /** Latency: forget what was recorded. */
  resetLatency() {
    latency.clear();
    deliveredByStep.clear();
    seenByStep.clear();
    counters.delivered = 0;
    counters.sendOk = 0;
    counters.sendErrors = {};
    return {};
  },

  latency(p: { step: number }): { hist: HistogramData; delivered: number } {
    return {
      hist: (latency.get(p.step) ?? new Histogram()).toData(),
      delivered: deliveredByStep.get(p.step) ?? 0,
    };
  },

  delivered(p: { step: number }) {
    return deliveredByStep.get(p.step) ?? 0;
  },

  /**
   * Open-loop load: `rate` messages per second for `durationMs`, the k-th due at t0 + k/rate whatever the replies
   * do; each body carries its intended send time, so a late send shows up as latency (no coordinated omission).
   */
  async sendLoad(p: { rate: number; durationMs: number; step: number; pairs: { from: number; to: string }[] }) {
    const total = Math.floor((p.rate * p.durationMs) / 1000);
    const gap = 1000 / p.rate;
    const t0 = wallMs() + 20;
    const deadline = t0 + p.durationMs + 5_000;
    let k = 0;
    let skipped = 0;
    let maxLateMs = 0;
    const okBefore = counters.sendOk;
    while (k < total && wallMs() < deadline) {
      const now = wallMs();
      const due = Math.min(total, Math.floor((now - t0) / gap) + 1);
      for (; k < due; k++) {
        const intended = t0 + k * gap;
        maxLateMs = Math.max(maxLateMs, now - intended);
        const pair = p.pairs[k % p.pairs.length]!;
        const sock = socks[pair.from]!;
        const ws = sock.ws;
        if (!ws || ws.readyState !== WebSocket.OPEN) {
          skipped++;
          continue;
        }
        const body = Buffer.allocUnsafe(16);
        body.writeDoubleLE(intended, 0);
        body.writeUInt32LE(p.step, 8);
        body.writeUInt32LE(k, 12);
        const requestId = takeRequestId();
        ws.send(
          ClientFrame.encode({
            requestId,
            body: {
              $case: 'send',
              value: {
                clientMsgId: `${p.step}-${k}`,
                to: { kind: { $case: 'user', value: pair.to } },
                contentType: BENCH_CONTENT_TYPE,
                body,
              },
            },
          }).finish(),
        );
      }
      await sleep(1);
    }
    return { sent: k - skipped, skipped, planned: total, maxLateMs, sendOk: counters.sendOk - okBefore, t0, gap };
  },

  /** Push registrations over the WebSocket (as the SDK's registerPush): socket `socks[i]` registers `tokens[i]`. */
  async registerPush(p: {
    socks: number[];
    tokens: string[];
    platform: 'apns' | 'fcm';
    topic: string;
    concurrency: number;
    timeoutMs: number;
  }) {
    const deadline = wallMs() + p.timeoutMs;
    let ok = 0;
    const errors: Record<string, number> = {};
    await pool(
      p.socks.map((sock, i) => ({ sock, token: p.tokens[i]! })),
      p.concurrency,
      deadline,
      async ({ sock, token }) => {
        try {
          const value = { platform: p.platform, token, topic: p.topic, environment: '', locale: '', previews: true };
          const reply = await request(socks[sock]!, { $case: 'pushRegister', value });
          if (reply.$case === 'pushDevice') ok++;
          else bump(errors, reply.$case ?? 'no reply');
        } catch (err) {
          bump(errors, err instanceof Error ? err.message.split(':')[0]! : 'error');
        }
      },
    );
    return { ok, errors };
  },

  /** Backlog: each of `from` sends `count` messages to `to` (user or group), `window` in flight, awaiting results. */
  async sendMessages(p: {
    from: number[];
    to: { user: string } | { group: string };
    count: number;
    window: number;
    /** Written where latency messages carry their step, so a storm client knows which messages it waits for. */
    tag: number;
    timeoutMs: number;
  }) {
    const deadline = wallMs() + p.timeoutMs;
    let ok = 0;
    const errors: Record<string, number> = {};
    // client_msg_id is unique per device: the server dedupes a repeat (to any recipient) as a retry.
    const call = randomUUID().slice(0, 8);
    await Promise.all(
      p.from.map(async (index) => {
        const sock = socks[index]!;
        const ids = Array.from({ length: p.count }, (_, i) => i);
        await pool(ids, p.window, deadline, async (i) => {
          const body = Buffer.alloc(16);
          body.writeDoubleLE(wallMs(), 0);
          body.writeUInt32LE(p.tag, 8);
          body.writeUInt32LE(i, 12);
          const to =
            'user' in p.to
              ? { $case: 'user' as const, value: p.to.user }
              : { $case: 'group' as const, value: p.to.group };
          for (let attempt = 0; attempt < 5 && wallMs() < deadline; attempt++) {
            try {
              const reply = await request(sock, {
                $case: 'send',
                value: {
                  clientMsgId: `b-${call}-${index}-${i}`,
                  to: { kind: to },
                  contentType: BENCH_CONTENT_TYPE,
                  body,
                },
              });
              if (reply.$case === 'sendResult') ok++;
              return;
            } catch (err) {
              const msg = err instanceof Error ? err.message.split(':')[0]! : 'error';
              bump(errors, msg);
              if (msg !== 'RATE_LIMITED') return;
              await sleep(200);
            }
          }
        });
      }),
    );
    return { ok, errors };
  },

  async createGroups(p: { owner: number; groups: string[][] }) {
    const ids: string[] = [];
    for (const members of p.groups) {
      const reply = await request(socks[p.owner]!, {
        $case: 'groupCreate',
        value: { name: `bench-${ids.length}`, members },
      });
      ids.push(expectReply(reply, 'group').groupId);
    }
    return ids;
  },

  /**
   * `count` pings on each of `socks`, taking turns (one ping to each socket, then the next round), each after the
   * previous pong, at most `perSec` pings per socket (under the server's per-connection rate limit): the round
   * trips through each socket's server, in ms: one histogram per socket, and the rounds' samples (rows of one
   * round trip per socket, in µs) to compare them pairwise. Taking turns puts the servers compared under the same
   * moment's machine: on these VMs the speed drifts more within a minute than the difference sought.
   */
  async rtt(p: { socks: number[]; count: number; perSec: number; timeoutMs: number }) {
    const hists = p.socks.map(() => new Histogram());
    const rounds: number[][] = [];
    const deadline = wallMs() + p.timeoutMs;
    for (let i = 0; i < p.count && wallMs() < deadline; i++) {
      const roundStart = performance.now();
      // Every other round in reverse order, so no server is always the one asked first.
      const order = p.socks.map((_, k) => (i % 2 === 0 ? k : p.socks.length - 1 - k));
      const row = p.socks.map(() => 0);
      for (const k of order) {
        const t0 = performance.now();
        await request(socks[p.socks[k]!]!, { $case: 'ping', value: { clientTimeMs: Date.now() } });
        const ms = performance.now() - t0;
        hists[k]!.record(ms);
        row[k] = Math.round(ms * 1000);
      }
      rounds.push(row);
      await sleep(Math.max(0, 1000 / p.perSec - (performance.now() - roundStart)));
    }
    return { hists: hists.map((h) => h.toData()), roundsUs: rounds };
  },

  /** Adds members to a group from the owner's socket, `chunk` per request (a frame has a size limit). */
  async addMembers(p: { owner: number; group: string; members: string[]; chunk: number }) {
    for (let i = 0; i < p.members.length; i += p.chunk) {
      const reply = await request(
        socks[p.owner]!,
        { $case: 'groupAdd', value: { groupId: p.group, members: p.members.slice(i, i + p.chunk) } },
        60_000,
      );
      expectReply(reply, 'group');
    }
    return {};
  },

  /** GetDiff paging: from the empty key through the whole inbox, `repeat` times; each page timed. */
  async pageDiff(p: { sock: number; limit: number; repeat: number; maxPages: number; timeoutMs: number }) {
    const sock = socks[p.sock]!;
    const pages = new Histogram();
    const totals = new Histogram();
    const deadline = wallMs() + p.timeoutMs;
    let messages = 0;
    let passes = 0;
    for (let r = 0; r < p.repeat && wallMs() < deadline; r++) {
      let key = '';
      let got = 0;
      const t0 = performance.now();
      for (let page = 0; page < p.maxPages; page++) {
        const t = performance.now();
        const res = await getDiff(sock, key, p.limit);
        pages.record(performance.now() - t);
        got += res.messages.length;
        key = res.syncKey;
        if (!res.hasMore) break;
      }
      totals.record(performance.now() - t0);
      messages = got;
      passes++;
    }
    return { pages: pages.toData(), totals: totals.toData(), messagesPerPass: messages, passes };
  },

  /** Every socket pulls GetDiff from its key until nothing more, and keeps the key (what a client saves). */
  async syncAll(p: { limit: number; concurrency: number; timeoutMs: number }) {
    const t0 = wallMs();
    let ok = 0;
    const errors: Record<string, number> = {};
    await pool(socks, p.concurrency, t0 + p.timeoutMs, async (s) => {
      try {
        for (let page = 0; page < 1000; page++) {
          const res = await whenServed(() => getDiff(s, s.syncKey, p.limit), t0 + p.timeoutMs, errors);
          s.syncKey = res.syncKey;
          s.inboxSeq = res.inboxSeq;
          if (!res.hasMore) break;
        }
        ok++;
      } catch (err) {
        bump(errors, err instanceof Error ? err.message : String(err));
      }
    });
    return { ok, errors, ms: wallMs() - t0 };
  },

  async closeAll(p: { timeoutMs: number }) {
    clearInterval(pingTimer);
    pingTimer = undefined;
    const closing = socks.map(
      (s) =>
        new Promise<void>((resolve) => {
          const ws = s.ws;
          if (!ws || ws.readyState === WebSocket.CLOSED) return resolve();
          ws.once('close', () => resolve());
          ws.close(1000, 'bench done');
        }),
    );
    const all = Promise.all(closing);
    const timedOut = await Promise.race([all.then(() => false), sleep(p.timeoutMs).then(() => true)]);
    if (timedOut) for (const s of socks) s.ws?.terminate();
    return { open: openCount() };
  },

  /** Forget every socket (after closeAll). */
  forget() {
    socks.length = 0;
    return {};
  },

  /**
   * Reconnect storm: at `startAt` every socket reconnects (`concurrency` handshakes in flight per worker), then pulls
   * GetDiff from its saved key until nothing more; it is whole once it has `expect` bench messages beyond the
   * saved seq (pushed or pulled). Then it acks, as the SDK does. Returns when all are whole or at the deadline.
   */
  async storm(p: {
    startAt: number;
    concurrency: number;
    expect: number;
    tag: number;
    limit: number;
    timeoutMs: number;
  }) {
    stormTag = p.tag;
    // The sockets that are closed (an open one, like a group owner's, stays as it is).
    const away = socks.filter((s) => !s.ws);
    for (const s of away) s.seen = new Set();
    while (wallMs() < p.startAt) await sleep(1);
    const start = wallMs();
    const deadline = start + p.timeoutMs;
    const whole = new Histogram();
    const connected = new Histogram();
    let lastWholeAt = 0;
    const errors: Record<string, number> = {};
    await pool(away, p.concurrency, deadline, async (s) => {
      for (let attempt = 0; attempt < 20 && wallMs() < deadline; attempt++) {
        try {
          await connect(s, Math.min(30_000, deadline - wallMs()));
          connected.record(wallMs() - start);
          for (let page = 0; page < 1000 && wallMs() < deadline; page++) {
            const res = await whenServed(() => getDiff(s, s.syncKey, p.limit), deadline, errors);
            for (const m of res.messages) if (tagOf(m) === p.tag) s.seen!.add(m.serverMsgId);
            s.syncKey = res.syncKey;
            s.inboxSeq = res.inboxSeq;
            if (!res.hasMore) break;
          }
          if (s.seen!.size >= p.expect) {
            const at = wallMs();
            whole.record(at - start);
            lastWholeAt = Math.max(lastWholeAt, at);
          } else {
            bump(errors, `short: ${s.seen!.size}/${p.expect}`);
          }
          // Then the ack the SDK sends after a sync (its cursor write is part of what a reconnect costs). A failed
          // ack is counted, not retried with a new connection: the client is already whole.
          try {
            s.syncKey = (await whenServed(() => ack(s, s.syncKey, s.inboxSeq), deadline, errors)).syncKey;
          } catch (err) {
            bump(errors, `ack: ${err instanceof Error ? err.message : String(err)}`);
          }
          return;
        } catch (err) {
          bump(errors, err instanceof Error ? err.message : String(err));
          s.ws?.terminate();
          // A refused upgrade says when to come back; otherwise a short random pause.
          await sleep(
            err instanceof ServerError && err.retryAfterMs > 0 ? err.retryAfterMs : 100 + Math.random() * 400,
          );
        }
      }
    });
    for (const s of away) s.seen = undefined;
    stormTag = -1;
    return {
      start,
      whole: whole.toData(),
      connected: connected.toData(),
      lastWholeAt,
      clients: away.length,
      errors,
    };
  },

  /** Notices: from now on, record when each socket gets a notice whose message_id starts with `prefix`. */
  watchNotices(p: { prefix: string }) {
    noticePrefix = p.prefix;
    noticeReceipts.clear();
    noticeReceiptsKept = 0;
    noticeReceiptsDropped = 0;
    return {};
  },

  /** How many sockets have each of `ids` so far. */
  noticeCounts(p: { ids: string[] }) {
    return p.ids.map((id) => noticeReceipts.get(id)?.at.length ?? 0);
  },

  /** The receipt times (wall ms) of each of `ids`, one per socket that got it; forgets them. */
  takeNoticeReceipts(p: { ids: string[] }) {
    const out: Record<string, number[]> = {};
    for (const id of p.ids) {
      const r = noticeReceipts.get(id);
      out[id] = r?.at ?? [];
      if (r) noticeReceiptsKept -= r.at.length;
      noticeReceipts.delete(id);
    }
    return { receipts: out, dropped: noticeReceiptsDropped };
  },

  /**
   * A new device's first sync on each of `socks` (freshly opened): GetDiff from the empty key until nothing more,
   * each page timed; and which notices (app message_id, stream, seq) it brought.
   */
  async firstSync(p: { socks: number[]; limit: number; timeoutMs: number }) {
    const deadline = wallMs() + p.timeoutMs;
    const samples: {
      firstPageMs: number;
      wholeMs: number;
      pages: number;
      messages: number;
      notices: { messageId: string; stream: string; seq: number }[];
    }[] = [];
    for (const index of p.socks) {
      if (wallMs() > deadline) break;
      const sock = socks[index]!;
      let key = '';
      let pages = 0;
      let messages = 0;
      let firstPageMs = 0;
      const notices: { messageId: string; stream: string; seq: number }[] = [];
      const t0 = performance.now();
      for (let page = 0; page < 1000 && wallMs() < deadline; page++) {
        const t = performance.now();
        const res = await getDiff(sock, key, p.limit);
        if (page === 0) firstPageMs = performance.now() - t;
        pages++;
        messages += res.messages.length;
        for (const m of res.messages) {
          if (m.notice && !m.op) notices.push({ messageId: m.clientMsgId, stream: m.stream, seq: m.seq });
        }
        key = res.syncKey;
        if (!res.hasMore) break;
      }
      samples.push({ firstPageMs, wholeMs: performance.now() - t0, pages, messages, notices });
    }
    return samples;
  },

  /**
   * Notice API load, open loop: `rate` signed unicasts per second for `durationMs`, the k-th due at t0 + k/rate
   * whatever the answers do, at most `maxInFlight` at once (a request due while that many wait is sent late, and its
   * lateness counts in `fromSchedule`). Request k goes to user `${userPrefix}${(firstUser + k * userStride) % users}`.
   * Each request is signed as NoticeApiClient signs it (signRequest) and sent with node:http over keep-alive
   * connections: about a third of the CPU per request of NoticeApiClient's fetch, CPU these 2 cores share with the
   * server being measured.
   */
  async noticeLoad(p: {
    baseUrl: string;
    appId: string;
    secret: string;
    rate: number;
    durationMs: number;
    startAt: number;
    userPrefix: string;
    users: number;
    firstUser: number;
    userStride: number;
    messagePrefix: string;
    priority: 'high' | 'normal' | 'low';
    maxInFlight: number;
    timeoutMs: number;
  }) {
    const url = new URL('/v1/notices', p.baseUrl);
    const agent = new http.Agent({ keepAlive: true, maxSockets: p.maxInFlight });
    const total = Math.floor((p.rate * p.durationMs) / 1000);
    const gap = 1000 / p.rate;
    while (wallMs() < p.startAt) await sleep(1);
    const t0 = wallMs();
    const deadline = t0 + p.durationMs + p.timeoutMs;
    const latency = new Histogram();
    const fromSchedule = new Histogram();
    const errors: Record<string, number> = {};
    let k = 0;
    let inFlight = 0;
    let accepted = 0;
    let answered = 0;
    let lastAnswerAt = 0;
    let maxLateMs = 0;
    cpu.sample();
    const post = (body: string) =>
      new Promise<{ status: number; text: string }>((resolve, reject) => {
        const headers = signRequest({ appId: p.appId, secret: p.secret, method: 'POST', path: url.pathname, body });
        const req = http.request(
          url,
          {
            method: 'POST',
            agent,
            headers: { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
            timeout: p.timeoutMs,
          },
          (res) => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (c: string) => (text += c));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
            res.on('error', reject);
          },
        );
        req.on('timeout', () => req.destroy(new Error('timeout')));
        req.on('error', reject);
        req.end(body);
      });
    const one = async (i: number, intended: number) => {
      const sentAt = wallMs();
      try {
        const body = JSON.stringify({
          message_id: `${p.messagePrefix}${i}`,
          target: { users: [`${p.userPrefix}${(p.firstUser + i * p.userStride) % p.users}`] },
          content: { title: 'bench', body: `unicast ${i}` },
          priority: p.priority,
        });
        const { status, text } = await post(body);
        const at = wallMs();
        if (status === 201) {
          accepted++;
          latency.record(at - sentAt);
          fromSchedule.record(at - intended);
        } else if (status === 200) bump(errors, 'duplicate');
        else {
          let code = `HTTP ${status}`;
          try {
            code = (JSON.parse(text) as { code?: string }).code ?? code;
          } catch {
            // not JSON
          }
          bump(errors, code);
        }
      } catch (err) {
        bump(errors, err instanceof Error ? err.message : String(err));
      } finally {
        answered++;
        lastAnswerAt = wallMs();
        inFlight--;
      }
    };
    const running = new Set<Promise<void>>();
    while (k < total && wallMs() < deadline) {
      const now = wallMs();
      const due = Math.min(total, Math.floor((now - t0) / gap) + 1);
      for (; k < due && inFlight < p.maxInFlight; k++) {
        const intended = t0 + k * gap;
        maxLateMs = Math.max(maxLateMs, now - intended);
        inFlight++;
        const r = one(k, intended);
        running.add(r);
        void r.finally(() => running.delete(r));
      }
      await sleep(1);
    }
    const sendEndAt = wallMs();
    // The answers still on their way, within the deadline.
    while (running.size > 0 && wallMs() < deadline) await sleep(5);
    const usage = cpu.sample();
    agent.destroy();
    return {
      planned: total,
      sent: k,
      answered,
      accepted,
      errors,
      latency: latency.toData(),
      fromSchedule: fromSchedule.toData(),
      maxLateMs,
      startAt: t0,
      sendEndAt,
      lastAnswerAt,
      cpu: usage,
    };
  },

  memory,

  ping() {
    return { pid: process.pid };
  },
};

export type WorkerApi = typeof handlers;

serve(handlers);
