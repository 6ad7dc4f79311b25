import fc from 'fast-check';
import { ClientFrame } from '../../proto/gen/im/v1/client.pb.ts';
import { signRequest } from '../../logic/notices/request-signature.ts';
import { frameInputs, httpInputs, type HttpInput } from './fuzz-inputs.ts';
import { FuzzServer } from './fuzz-server.ts';
import { FuzzSocket } from './fuzz-socket.ts';
import { memoryTrend, type MemoryPoint, type MemoryTrend } from './memory-trend.ts';

export interface FuzzOptions {
  durationMs: number;
  seed: number;
  connectionsPerBurst?: number;
  framesPerConnection?: number;
  httpPerBurst?: number;
  onProgress?: (line: string) => void;
}

export interface FuzzResult {
  ok: boolean;
  seed: number;
  durationMs: number;
  bursts: number;
  connections: number;
  frames: number;
  serverFrames: number;
  /** Error frames the server answered with, by code. */
  refusals: Record<string, number>;
  /** How connections ended, by close code (1000/1005: closed by the fuzzer). */
  closes: Record<string, number>;
  /** Connections that flooded or sent a frame past the hard limit, and how many the server closed cleanly. */
  abusive: { opened: number; closedCleanly: number };
  http: { requests: number; byStatus: Record<string, number> };
  /** A fresh client's connect, send and sync after each burst. */
  checks: { passed: number; worstMs: number };
  memory: { points: MemoryPoint[]; trend: MemoryTrend };
  /** What went wrong: each a sentence naming the burst. Empty for a run that passed. */
  findings: string[];
}

const USERS = Array.from({ length: 8 }, (_, i) => `fz${i}`);
const ANSWER_MS = 5_000;
/** Past the default budget of refused frames per window (200): the server must close such a connection (1008). */
const FLOOD_FRAMES = 500;
/** Past the default hard frame limit (1 MiB): the server must close the connection (1009). */
const OVERSIZED_BYTES = 1024 * 1024 + 1024;
/** Closes that are the server's answer to abuse, or the fuzzer's own close. */
const CLEAN_CLOSES = new Set([1000, 1005, 1008, 1009]);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const bump = (counts: Record<string, number>, key: string | number, by = 1) =>
  void (counts[key] = (counts[key] ?? 0) + by);

/** What one run holds while it goes: the server, the ids frames name, and the tallies the result reports. */
interface Run {
  server: FuzzServer;
  options: Required<Omit<FuzzOptions, 'onProgress'>>;
  group: string;
  app: { id: string; secret: string };
  result: FuzzResult;
  started: number;
}

/**
 * Runs the fuzzer for `durationMs`: bursts of connections sending mutated frames and HTTP requests with mutated
 * bodies, each followed by a check that a fresh client can still connect, send and sync, while the server's heap is
 * sampled. Stops early when the server dies. The server is always stopped at the end.
 */
export async function runFuzz(options: FuzzOptions): Promise<FuzzResult> {
  const { onProgress: progress = () => undefined, ...given } = options;
  const opts = { connectionsPerBurst: 4, framesPerConnection: 40, httpPerBurst: 24, ...given };
  const server = await FuzzServer.start();
  const started = Date.now();
  const result: FuzzResult = {
    ...{ ok: false, seed: opts.seed, durationMs: 0, bursts: 0, connections: 0, frames: 0, serverFrames: 0 },
    ...{ refusals: {}, closes: {}, abusive: { opened: 0, closedCleanly: 0 }, http: { requests: 0, byStatus: {} } },
    ...{ checks: { passed: 0, worstMs: 0 }, memory: { points: [], trend: memoryTrend([], 0) }, findings: [] },
  };
  let sampling = true;
  const sampler = (async () => {
    while (sampling && !server.exited) {
      const m = await server.memory().catch(() => undefined);
      if (m) result.memory.points.push({ atMs: Date.now() - started, ...m });
      await sleep(1_000);
    }
  })();
  try {
    const run: Run = { server, options: opts, started, result, ...(await setUp(server)) };
    for (let i = 0; Date.now() - started < opts.durationMs && !server.exited; i++) {
      await burst(run, i);
      if (server.exited) result.findings.push(`burst ${i}: the server ${server.exited}: ${server.stderr.join(' | ')}`);
      else await check(run, i);
      result.bursts++;
      progress(progressLine(run));
    }
  } finally {
    sampling = false;
    await sampler;
    await server.stop();
  }
  result.durationMs = Date.now() - started;
  result.memory.trend = memoryTrend(result.memory.points, result.durationMs);
  if (!result.memory.trend.flat) {
    const t = result.memory.trend;
    result.findings.push(`heap grew ${t.heapGrowthMiB.toFixed(1)} MiB after warm-up (bound ${t.boundMiB} MiB)`);
  }
  result.ok = result.findings.length === 0;
  return result;
}

/** A group of the fuzz users and a notice app, so valid frames and requests name things that exist. */
async function setUp(server: FuzzServer): Promise<{ group: string; app: { id: string; secret: string } }> {
  const owner = await FuzzSocket.open(server.url, await server.token(USERS[0]!, 'setup'));
  const create = { $case: 'groupCreate' as const, value: { name: 'fuzz', members: USERS.slice(1) } };
  owner.send(ClientFrame.encode({ requestId: 1, body: create }).finish());
  const group = await owner.next((f) => (f.body?.$case === 'group' ? f.body.value.groupId : undefined));
  owner.close();
  if (!group) throw new Error('fuzz set-up: the group was not created');
  const http = server.url.replace(/^ws/, 'http');
  const res = await fetch(`${http}/v1/admin/apps`, {
    method: 'POST',
    headers: { authorization: `Bearer ${server.operatorToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'fuzz', scopes: ['unicast', 'multicast'] }),
  });
  if (res.status !== 201) throw new Error(`fuzz set-up: creating the notice app answered ${res.status}`);
  const app = (await res.json()) as { id: string; secret: string };
  return { group, app };
}

function progressLine({ result: r, started }: Run): string {
  const heap = r.memory.points.at(-1)?.heapUsed ?? 0;
  return (
    `+${((Date.now() - started) / 1000).toFixed(0)}s bursts ${r.bursts} connections ${r.connections} ` +
    `frames ${r.frames} http ${r.http.requests} checks ${r.checks.passed} heap ${(heap / 2 ** 20).toFixed(1)} MiB ` +
    `findings ${r.findings.length}`
  );
}

/** One burst: mutated frames on fresh connections, then (every few bursts) abuse, then mutated HTTP requests. */
async function burst(run: Run, i: number): Promise<void> {
  const { options, result } = run;
  const ids = { users: fc.constantFrom(...USERS, 'nobody'), groups: fc.constantFrom(run.group, 'g-none') };
  const frames = frameInputs(ids, run.options.seed + i, options.connectionsPerBurst * options.framesPerConnection);
  const sockets = await Promise.all(
    Array.from({ length: options.connectionsPerBurst }, (_, k) => open(run, i, USERS[(i + k) % USERS.length]!, k)),
  );
  const opened = sockets.filter((s): s is FuzzSocket => s !== undefined);
  opened.forEach((s, k) => {
    for (const f of frames.slice(k * options.framesPerConnection, (k + 1) * options.framesPerConnection)) {
      s.send(f);
      result.frames++;
    }
  });
  await settle(opened);
  for (const s of opened) tally(run, i, s);
  if (i % 5 === 0) await abuse(run, i);
  await httpBurst(run, i, httpInputs(fc.constantFrom(...USERS), options.seed + i, options.httpPerBurst));
}

async function open(run: Run, i: number, user: string, k: number): Promise<FuzzSocket | undefined> {
  try {
    const s = await FuzzSocket.open(run.server.url, await run.server.token(user, `b${i}-${k}`));
    run.result.connections++;
    return s;
  } catch (err) {
    run.result.findings.push(`burst ${i}: ${user} could not connect: ${(err as Error).message}`);
    return undefined;
  }
}

/**
 * Waits until every socket has had an answer (or was closed) and none has had a new frame for 200 ms, at most
 * ANSWER_MS: on a loaded machine the server may not get the CPU for a while, which is not a missing answer.
 */
async function settle(sockets: FuzzSocket[]): Promise<void> {
  const deadline = Date.now() + ANSWER_MS;
  let last = -1;
  while (Date.now() < deadline) {
    const count = sockets.reduce((n, s) => n + s.frames.length, 0);
    const answered = sockets.every((s) => answers(s) > 0 || s.closed !== undefined);
    if (answered && count === last) return;
    last = count;
    await sleep(200);
  }
}

/** Frames that answer what the connection sent (or bring it messages): all but the greeting. */
const answers = (s: FuzzSocket) => s.frames.filter((f) => f.body?.$case !== 'authResult').length;

/** Counts what a burst's connection got, and any sign of a server that misbehaved. */
function tally(run: Run, i: number, s: FuzzSocket): void {
  const { result } = run;
  result.serverFrames += s.frames.length;
  for (const f of s.frames) if (f.body?.$case === 'error') bump(result.refusals, f.body.value.code);
  if (s.frames.some((f) => f.body?.$case === 'error' && f.body.value.code === 'INTERNAL')) {
    result.findings.push(`burst ${i}: the server answered a frame with INTERNAL`);
  }
  if (s.undecodable > 0) result.findings.push(`burst ${i}: ${s.undecodable} server frames did not decode`);
  if (answers(s) === 0 && s.closed === undefined)
    result.findings.push(`burst ${i}: a connection got no answer in ${ANSWER_MS} ms`);
  if (s.closed && !CLEAN_CLOSES.has(s.closed.code)) {
    result.findings.push(`burst ${i}: a connection was closed with ${s.closed.code} ${s.closed.reason}`);
  }
  s.close();
  bump(result.closes, s.closed?.code ?? 1000);
}

/** A flood of garbage past the refusal budget, and a frame past the hard limit: each must be closed, cleanly. */
async function abuse(run: Run, i: number): Promise<void> {
  const cases: [string, number, (s: FuzzSocket) => void][] = [
    ['flood', 1008, (s) => fc.sample(fc.uint8Array({ maxLength: 64 }), FLOOD_FRAMES).forEach((b) => s.send(b))],
    ['oversized frame', 1009, (s) => s.send(new Uint8Array(OVERSIZED_BYTES))],
  ];
  for (const [what, code, attack] of cases) {
    const s = await open(run, i, USERS[i % USERS.length]!, 99);
    if (!s) continue;
    run.result.abusive.opened++;
    attack(s);
    const closed = await s.closedWithin(ANSWER_MS);
    if (closed && s.closed?.code === code && s.error === undefined) run.result.abusive.closedCleanly++;
    else run.result.findings.push(`burst ${i}: a ${what} ended ${JSON.stringify(s.closed ?? s.error ?? 'open')}`);
    bump(run.result.closes, s.closed?.code ?? 'open');
    s.close();
  }
}

/** Mutated bodies on the HTTP APIs: any answer but a 5xx other than 503 (overload), and an answer to each. */
async function httpBurst(run: Run, i: number, inputs: HttpInput[]): Promise<void> {
  const base = run.server.url.replace(/^ws/, 'http');
  for (const [k, input] of inputs.entries()) {
    const user = USERS[k % USERS.length]!;
    const { method, path, headers } = await httpRequest(run, input, user);
    try {
      const res = await fetch(`${base}${path}`, {
        method,
        headers,
        body: input.body,
        signal: AbortSignal.timeout(ANSWER_MS),
      });
      await res.arrayBuffer();
      bump(run.result.http.byStatus, res.status);
      if (res.status >= 500 && res.status !== 503) {
        run.result.findings.push(
          `burst ${i}: ${method} ${path} answered ${res.status} to ${input.body.toString('hex')}`,
        );
      }
    } catch (err) {
      run.result.findings.push(`burst ${i}: ${method} ${path} got no answer: ${(err as Error).message}`);
    }
    run.result.http.requests++;
  }
}

async function httpRequest(run: Run, input: HttpInput, user: string) {
  const bearer = async () => ({ authorization: `Bearer ${await run.server.token(user, 'http')}` });
  switch (input.kind) {
    case 'sync-json':
      return { method: 'POST', path: '/v1/sync', headers: await bearer() };
    case 'sync-protobuf':
      return {
        method: 'POST',
        path: '/v1/sync',
        headers: { ...(await bearer()), 'content-type': 'application/x-protobuf' },
      };
    case 'device':
      return { method: 'PUT', path: '/v1/push/device', headers: await bearer() };
    case 'notice': {
      // Signed after mutation: the body must reach the decoder, not stop at the signature.
      const { id, secret } = run.app;
      const signed = signRequest({ appId: id, secret, method: 'POST', path: '/v1/notices', body: input.body });
      return { method: 'POST', path: '/v1/notices', headers: { ...signed, 'content-type': 'application/json' } };
    }
  }
}

/** A fresh client connects, sends a message and syncs, each answered within ANSWER_MS. */
async function check(run: Run, i: number): Promise<void> {
  const t0 = Date.now();
  const s = await open(run, i, 'fzcheck', i);
  if (!s) return;
  const send = { clientMsgId: `check-${i}`, to: { kind: { $case: 'user' as const, value: USERS[1]! } } };
  const body = { $case: 'send' as const, value: { ...send, contentType: 'text/plain', body: Buffer.from('ok') } };
  s.send(ClientFrame.encode({ requestId: 1, body }).finish());
  const sent = await s.next((f) => (f.requestId === 1 ? f.body?.$case : undefined));
  s.send(ClientFrame.encode({ requestId: 2, body: { $case: 'sync', value: { syncKey: '', limit: 10 } } }).finish());
  const synced = await s.next((f) => (f.requestId === 2 ? f.body?.$case : undefined));
  s.close();
  if (sent === 'sendResult' && synced === 'sync') {
    run.result.checks.passed++;
    run.result.checks.worstMs = Math.max(run.result.checks.worstMs, Date.now() - t0);
  } else {
    run.result.findings.push(
      `burst ${i}: the check client's send got ${sent ?? 'nothing'}, its sync ${synced ?? 'nothing'}`,
    );
  }
}
