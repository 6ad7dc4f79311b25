// The latency an encrypted 1:1 send adds (issue 24): pairs of SDK clients (ImClient, in this process) over real
// WebSockets, a fixed total rate offered open loop (message k is due at t0 + k/rate whatever the replies do), latency
// from the due time to the recipient's `message` event (opened, for an encrypted one). Plaintext pairs and encrypted
// pairs, all connected at once, take turns at the same rate, so both see the same machine; each mode's turns are
// merged. The plaintext pairs are the SDK with end-to-end encryption off (e2e: false), the encrypted pairs the SDK's
// default (keys in memory, device lists asked again after 5 s). The body carries its turn and index, so the recipient finds its due time after opening it.
import { ImClient } from '../../client/sdk.ts';
import { Histogram, type Percentiles } from './histogram.ts';
import { sleep, waitFor, wallMs } from './progress.ts';
import { round } from './result.ts';
import { cpuUs } from './e2e-devices.ts';

export type SendMode = 'plaintext' | 'encrypted';

export interface SendLatencyOptions {
  /** Gateway WebSocket URLs; pairs are spread over them round robin. */
  urls: string[];
  token: (user: string, device: string) => string | Promise<string>;
  /** Users are `${userPrefix}<p|e><s|r><k>`. */
  userPrefix: string;
  pairs: number;
  ratePerSec: number;
  turnSec: number;
  /** Turns per mode, taken alternately: plaintext, encrypted, plaintext, ... */
  turns: number;
  warmUpSec: number;
  bodyBytes: number;
  drainMs: number;
  /** CPU time the server's processes have used so far, in ms (to cost a turn). */
  serverCpuMs?: () => Promise<number>;
  log: (line: string) => void;
}

export interface ModeRun {
  mode: SendMode;
  sent: number;
  delivered: number;
  lost: number;
  /** Encrypted entries the recipient could not open. */
  refused: number;
  sendErrors: Record<string, number>;
  latencyMs: Percentiles;
  /** The client process's CPU (every sender and recipient) per delivered message, in µs. */
  clientCpuUsPerMessage: number;
  serverCpuUsPerMessage: number | null;
  /** Share of the turn the client process's event loop was busy (0..1): near 1, the clients are the bottleneck. */
  clientLoopUtilization: number;
  /** How far the sending loop fell behind its schedule, in ms. */
  maxLateMs: number;
  achievedPerSec: number;
}

interface Pair {
  sender: ImClient;
  recipient: ImClient;
  to: string;
}

interface Turn {
  id: number;
  due: Float64Array;
  latency: Histogram;
  delivered: number;
  refused: number;
}

/** Pairs connecting at once (a new device's connect waits until its keys are published). */
const CONNECT_BATCH = 100;

const turns = new Map<number, Turn>();
let nextTurn = 1;

function newTurn(count: number): Turn {
  const t = { id: nextTurn++, due: new Float64Array(count), latency: new Histogram(), delivered: 0, refused: 0 };
  turns.set(t.id, t);
  return t;
}

/** `t<turn>:<k>:` padded to `bytes` with text. */
function textOf(turn: number, k: number, bytes: number): string {
  const head = `t${turn}:${k}:`;
  return head + 'see you at the station tomorrow morning, bring the tickets '.repeat(4).slice(0, bytes - head.length);
}

function received(text: string, opened: boolean): void {
  const [t, k] = text.split(':', 2);
  const turn = turns.get(Number(t?.slice(1)));
  if (!turn) return;
  if (!opened) {
    turn.refused++;
    return;
  }
  turn.delivered++;
  turn.latency.record(wallMs() - turn.due[Number(k)]!);
}

async function connectPairs(o: SendLatencyOptions, mode: SendMode): Promise<{ pairs: Pair[]; clients: ImClient[] }> {
  const clients: ImClient[] = [];
  const connect = async (user: string, url: string) => {
    const client = new ImClient({
      url,
      token: () => o.token(user, 'd'),
      reconnect: false,
      requestTimeoutMs: 15_000,
      ...(mode === 'plaintext' ? { e2e: false as const } : {}),
    });
    clients.push(client);
    await client.connect();
    return client;
  };
  const tag = mode === 'plaintext' ? 'p' : 'e';
  const pairs: Pair[] = [];
  for (let k = 0; k < o.pairs; k += CONNECT_BATCH) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(CONNECT_BATCH, o.pairs - k) }, async (_, j) => {
        const url = o.urls[(k + j) % o.urls.length]!;
        const to = `${o.userPrefix}${tag}r${k + j}`;
        const [sender, recipient] = await Promise.all([
          connect(`${o.userPrefix}${tag}s${k + j}`, url),
          connect(to, url),
        ]);
        recipient.on('message', (m) => {
          if (!m.op) received(Buffer.from(m.body).toString(), m.encryption?.opened !== false);
        });
        return { sender, recipient, to };
      }),
    );
    pairs.push(...batch);
  }
  return { pairs, clients };
}

/** Offers `ratePerSec` over the pairs for `durationMs`, open loop; resolves once every send has its result. */
async function offer(pairs: Pair[], mode: SendMode, ratePerSec: number, durationMs: number, bodyBytes: number) {
  const count = Math.round((ratePerSec * durationMs) / 1000);
  const turn = newTurn(count);
  const gap = 1000 / ratePerSec;
  const errors: Record<string, number> = {};
  const results: Promise<void>[] = [];
  const t0 = wallMs() + 20;
  let maxLateMs = 0;
  for (let k = 0; k < count;) {
    const now = wallMs();
    for (; k < count && t0 + k * gap <= now; k++) {
      const due = (turn.due[k] = t0 + k * gap);
      maxLateMs = Math.max(maxLateMs, now - due);
      const pair = pairs[k % pairs.length]!;
      const text = textOf(turn.id, k, bodyBytes);
      const sending = pair.sender.send({ user: pair.to }, { text }, undefined, { encrypted: mode === 'encrypted' });
      results.push(
        sending.then(
          () => undefined,
          (err: unknown) => {
            const code = (err as { code?: string }).code ?? 'error';
            errors[code] = (errors[code] ?? 0) + 1;
          },
        ),
      );
    }
    if (k < count) await sleep(Math.max(0, t0 + k * gap - wallMs()));
  }
  await Promise.all(results);
  return { turn, sent: count, errors, maxLateMs: round(maxLateMs, 1) };
}

/** One turn of a mode, costed: the client process's CPU and event loop, and the server's CPU. */
async function measuredTurn(o: SendLatencyOptions, pairs: Pair[], mode: SendMode) {
  const serverBefore = (await o.serverCpuMs?.()) ?? null;
  const cpu0 = cpuUs();
  const elu0 = performance.eventLoopUtilization();
  const t0 = performance.now();
  const run = await offer(pairs, mode, o.ratePerSec, o.turnSec * 1000, o.bodyBytes);
  const turn = run.turn;
  await waitFor(() => turn.delivered + turn.refused >= run.sent, o.drainMs, 20);
  const clientUs = cpuUs() - cpu0;
  const loop = performance.eventLoopUtilization(elu0).utilization;
  const seconds = (performance.now() - t0) / 1000;
  const serverAfter = serverBefore === null ? null : await o.serverCpuMs!();
  const line =
    `${mode} turn: ${run.sent} sent at ${o.ratePerSec} msg/s, ${turn.delivered} delivered, p50 ` +
    `${round(turn.latency.quantile(0.5), 1)} p99 ${round(turn.latency.quantile(0.99), 1)} ms, client loop ` +
    `${Math.round(loop * 100)}% busy, sending up to ${run.maxLateMs} ms late`;
  o.log(line);
  return { run, clientUs, loop, seconds, serverUs: serverAfter === null ? null : (serverAfter - serverBefore!) * 1000 };
}

/** Every pair once each way (sessions set up and answered), then the rate for warmUpSec: not measured. */
async function warmUp(o: SendLatencyOptions, pairs: Pair[], mode: SendMode): Promise<void> {
  const encrypted = mode === 'encrypted';
  await Promise.all(pairs.map((p) => p.sender.send({ user: p.to }, { text: 'hello' }, undefined, { encrypted })));
  await Promise.all(
    pairs.map((p) => p.recipient.send({ user: p.sender.auth!.user }, { text: 'hello back' }, undefined, { encrypted })),
  );
  const run = await offer(pairs, mode, o.ratePerSec, o.warmUpSec * 1000, o.bodyBytes);
  await waitFor(() => run.turn.delivered + run.turn.refused >= run.sent, o.drainMs, 20);
}

function summarize(mode: SendMode, o: SendLatencyOptions, ran: Awaited<ReturnType<typeof measuredTurn>>[]): ModeRun {
  const latency = new Histogram();
  const sendErrors: Record<string, number> = {};
  let [sent, delivered, refused, clientUs, loopSec, seconds] = [0, 0, 0, 0, 0, 0];
  let serverUs: number | null = 0;
  for (const r of ran) {
    latency.merge(r.run.turn.latency);
    sent += r.run.sent;
    delivered += r.run.turn.delivered;
    refused += r.run.turn.refused;
    clientUs += r.clientUs;
    loopSec += r.loop * r.seconds;
    seconds += r.seconds;
    serverUs = serverUs === null || r.serverUs === null ? null : serverUs + r.serverUs;
    for (const [k, v] of Object.entries(r.run.errors)) sendErrors[k] = (sendErrors[k] ?? 0) + v;
  }
  return {
    mode,
    sent,
    delivered,
    lost: sent - delivered,
    refused,
    sendErrors,
    latencyMs: latency.summary(),
    clientCpuUsPerMessage: round(clientUs / Math.max(1, delivered), 1),
    serverCpuUsPerMessage: serverUs === null ? null : round(serverUs / Math.max(1, delivered), 1),
    clientLoopUtilization: round(loopSec / Math.max(seconds, 1e-9), 3),
    maxLateMs: Math.max(...ran.map((r) => r.run.maxLateMs)),
    achievedPerSec: Math.round(delivered / (o.turnSec * ran.length)),
  };
}

export interface SendLatency {
  plaintext: ModeRun;
  encrypted: ModeRun;
  /** Encrypted minus plaintext. */
  added: { p50Ms: number; p99Ms: number; clientCpuUsPerMessage: number };
  connectSec: number;
}

export async function measureSendLatency(o: SendLatencyOptions): Promise<SendLatency> {
  const t0 = performance.now();
  const plain = await connectPairs(o, 'plaintext');
  const enc = await connectPairs(o, 'encrypted').catch(async (err: unknown) => {
    await Promise.all(plain.clients.map((c) => c.close()));
    throw err;
  });
  const clients = [...plain.clients, ...enc.clients];
  try {
    const connectSec = round((performance.now() - t0) / 1000, 1);
    o.log(`${clients.length} SDK clients connected in ${connectSec} s (${o.pairs} pairs per mode, this process)`);
    await warmUp(o, plain.pairs, 'plaintext');
    await warmUp(o, enc.pairs, 'encrypted');
    o.log(`warmed up: every pair once each way, then ${o.warmUpSec} s at ${o.ratePerSec} msg/s per mode`);
    const ran: Record<SendMode, Awaited<ReturnType<typeof measuredTurn>>[]> = { plaintext: [], encrypted: [] };
    for (let i = 0; i < o.turns; i++) {
      ran.plaintext.push(await measuredTurn(o, plain.pairs, 'plaintext'));
      ran.encrypted.push(await measuredTurn(o, enc.pairs, 'encrypted'));
    }
    const plaintext = summarize('plaintext', o, ran.plaintext);
    const encrypted = summarize('encrypted', o, ran.encrypted);
    return {
      plaintext,
      encrypted,
      added: {
        p50Ms: round(encrypted.latencyMs.p50 - plaintext.latencyMs.p50, 2),
        p99Ms: round(encrypted.latencyMs.p99 - plaintext.latencyMs.p99, 2),
        clientCpuUsPerMessage: round(encrypted.clientCpuUsPerMessage - plaintext.clientCpuUsPerMessage, 1),
      },
      connectSec,
    };
  } finally {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    turns.clear();
  }
}
