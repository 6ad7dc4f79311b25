// Scenario 8, mobile push (issue 21), against the fake providers (test/fakes/apns.ts, fcm.ts) on 127.0.0.1, in a
// process of their own (bench/servers/push-fakes.ts), so every other process's CPU is its own.
// (1) Sender throughput: ApnsSender (one HTTP/2 connection, @parse/node-apn) and, separately, FcmSender
//     (firebase-admin, HTTP/1.1 keep-alive through the agent) each in a process of its own
//     (bench/servers/push-sender.ts), offered stepped rates open loop until saturation: accepted/s, p50/p99 per
//     push, CPU per push of the sender process and of the fake's.
// (3) Broadcast: N device registrations seeded straight into the data directory (the SQLite device-token store,
//     before the server starts: not made over WebSockets), the embedded server on that directory configured with
//     the fake APNs; one notice to everyone (client/notice-api.ts): the time until the last push reached the fake,
//     and alerts per device (coalescing: exactly one each).
// (2) Store to provider: P offline devices registered over the WebSocket, senders in a client process sending 1:1
//     messages at a few rates (each recipient at most one message per coalescing window): from each send (its
//     scheduled time) to the fake's receipt of its push, p50/p99, until saturation.
// Where a target is missed, that part runs once more with the process that limits it profiled (node:inspector).
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { NoticeApiClient, OperatorClient } from '../../client/notice-api.ts';
import { openDataDir } from '../../lib/data-dir.ts';
import { SqliteDeviceTokenStore } from '../../push/mobile/device-token-store.sqlite.ts';
import type { Platform } from '../../push/mobile/push-sender.ts';
import { profileLines, nativeLines, type ProfileSummary } from '../lib/cpu-profile.ts';
import { Histogram, type Percentiles } from '../lib/histogram.ts';
import { sleep, wallMs } from '../lib/progress.ts';
import { checkTarget, round, stamp, writeResult, BUN_BASELINE, type Target } from '../lib/result.ts';
import { Child } from '../lib/rpc.ts';
import { openSpread, startGatewayServer, startWorkers, stopAll, type Ctx, type GatewayServer } from '../lib/fleet.ts';
import type { PushFakesApi } from '../servers/push-fakes.ts';
import type { PushSenderApi } from '../servers/push-sender.ts';
import { PALETTE, type Chart } from '../lib/svg.ts';

const SIZES = {
  tiny: {
    senderRates: [200, 500],
    senderStepSec: 1,
    devices: 300,
    storeRates: [10, 20],
    storeStepSec: 2,
    storeDevices: 60,
  },
  default: {
    senderRates: [1_000, 2_500, 5_000, 7_500, 10_000, 15_000],
    senderStepSec: 4,
    devices: 100_000,
    storeRates: [50, 200, 500, 1_000],
    storeStepSec: 5,
    storeDevices: 3_000,
  },
  large: {
    senderRates: [1_000, 2_500, 5_000, 7_500, 10_000, 15_000, 20_000],
    senderStepSec: 8,
    devices: 250_000,
    storeRates: [100, 500, 1_000, 2_000],
    storeStepSec: 8,
    storeDevices: 6_000,
  },
};
const TARGETS = { perSec: 5_000, storeP99Ms: 200 };
const BATCH = 100;
const MAX_IN_FLIGHT = 5_000;
const SATURATED_P99_MS = 1_000;
const COALESCE_WINDOW_MS = 1_000;
/** A recipient gets at most one message per this long (more than the coalescing window: every message alerts). */
const RECIPIENT_GAP_MS = 2_000;
const SENDERS = 100;
const BROADCAST_STALL_MS = 30_000;
const BROADCAST_MAX_MS = 600_000;
const PROFILE_INTERVAL_US = 1_000;
const TOPIC = 'com.example.bench';
const KEY_ID = 'KEY1234567';
const TEAM_ID = 'TEAM123456';
const FCM_ACCOUNT = { project_id: 'im-bench', client_email: 'push@im-bench.iam.gserviceaccount.com' };

interface Keys {
  dir: string;
  apnsKey: string;
  apnsPublic: string;
  fcmKey: string;
  fcmPublic: string;
}

function makeKeys(): Keys {
  const dir = mkdtempSync(join(tmpdir(), 'im-bench-push-'));
  const apns = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const google = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keys = {
    dir,
    apnsKey: apns.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    apnsPublic: apns.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    fcmKey: google.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    fcmPublic: google.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
  writeFileSync(join(dir, 'key.p8'), keys.apnsKey);
  writeFileSync(join(dir, 'fcm.json'), JSON.stringify({ ...FCM_ACCOUNT, private_key: keys.fcmKey }));
  return keys;
}

type Fakes = Child<PushFakesApi>;
let profiles: Record<string, ProfileSummary & { file: string; process: string }> = {};

async function profiled(
  ctx: Ctx,
  child: Child<Pick<PushSenderApi, 'profileStart' | 'profileStop'>>,
  processName: string,
  what: string,
  base: string,
  fn: () => Promise<unknown>,
) {
  const saveTo = `${base}-${what.replace(/\W+/g, '-')}.cpuprofile`;
  mkdirSync(ctx.out, { recursive: true });
  await child.call('profileStart', { intervalUs: PROFILE_INTERVAL_US });
  let summary: ProfileSummary;
  try {
    await fn();
  } finally {
    summary = await child.call('profileStop', { top: 20, saveTo }, 60_000);
  }
  ctx.log(`profile of ${what} (${processName}, ${summary.busyMs} ms busy of ${summary.wallMs} ms; ${saveTo}):`);
  for (const line of profileLines(summary, 10)) ctx.log(`  ${line}`);
  profiles[what] = { ...summary, file: basename(saveTo), process: processName };
}

// ---- (1) sender throughput ----

interface SenderStep {
  platform: Platform;
  offered: number;
  planned: number;
  sent: number;
  shed: number;
  outcomes: Record<string, number>;
  acceptedPerSec: number;
  latencyMs: Percentiles;
  senderCpuMsPerPush: number | null;
  senderCores: number;
  fakeCpuMsPerPush: number | null;
  fakeAccepted: number;
  saturated?: string;
}

async function senderStep(
  ctx: Ctx,
  sender: Child<PushSenderApi>,
  fakes: Fakes,
  platform: Platform,
  rate: number,
  stepSec: number,
): Promise<SenderStep> {
  await fakes.call('reset', { perToken: false, keepTimes: false });
  const fakeCpu0 = await fakes.call('cpuTimeMs', {});
  const r = await sender.call(
    'drive',
    { rate, durationMs: stepSec * 1000, batch: BATCH, maxInFlight: MAX_IN_FLIGHT, drainMs: 30_000 },
    stepSec * 1000 + 60_000,
  );
  const fakeCpu = (await fakes.call('cpuTimeMs', {})) - fakeCpu0;
  const counts = await fakes.call('counts', {});
  const accepted = r.outcomes.sent ?? 0;
  const spanSec = Math.max(stepSec, (r.lastDoneAt - r.startAt) / 1000);
  const step: SenderStep = {
    platform,
    offered: rate,
    planned: r.planned,
    sent: r.offered,
    shed: r.shed,
    outcomes: r.outcomes,
    acceptedPerSec: Math.round(accepted / spanSec),
    latencyMs: r.latency,
    senderCpuMsPerPush: accepted > 0 ? round(r.cpuMs / accepted, 4) : null,
    senderCores: round(r.cpuMs / (spanSec * 1000), 2),
    fakeCpuMsPerPush: accepted > 0 ? round(fakeCpu / accepted, 4) : null,
    fakeAccepted: counts.accepted,
  };
  const why: string[] = [];
  if (accepted < 0.99 * r.planned) why.push(`${accepted}/${r.planned} accepted`);
  if (r.latency.p99 > SATURATED_P99_MS) why.push(`p99 ${r.latency.p99} ms > ${SATURATED_P99_MS} ms`);
  if (!r.drained) why.push('not every answer within 30 s');
  if (why.length) step.saturated = why.join(', ');
  ctx.log(
    `${platform} ${rate}/s offered: ${accepted}/${r.planned} accepted, ${step.acceptedPerSec}/s; per push p50 ` +
      `${r.latency.p50} p99 ${r.latency.p99} ms; sender ${step.senderCpuMsPerPush ?? '-'} ms CPU per push ` +
      `(${step.senderCores} cores), fake ${step.fakeCpuMsPerPush ?? '-'} ms per push` +
      (step.saturated ? ` - saturated: ${step.saturated}` : ''),
  );
  return step;
}

async function senderThroughput(
  ctx: Ctx,
  fakes: Fakes,
  info: FakesInfo,
  keys: Keys,
  rates: number[],
  stepSec: number,
  base: string,
) {
  const out: Record<Platform, SenderStep[]> = { apns: [], fcm: [] };
  const targets: Target[] = [];
  for (const platform of ['apns', 'fcm'] as const) {
    const sender = new Child<PushSenderApi>(`sender-${platform}`, 'bench/servers/push-sender.ts', {
      onLine: ctx.onLine,
    });
    try {
      await sender.call('setup', {
        platform,
        apns: { key: keys.apnsKey, keyId: KEY_ID, teamId: TEAM_ID, port: info.apnsPort, ca: info.ca },
        fcm: {
          projectId: FCM_ACCOUNT.project_id,
          clientEmail: FCM_ACCOUNT.client_email,
          privateKey: keys.fcmKey,
          port: info.fcmPort,
          ca: info.ca,
        },
      });
      // Warm-up: the connection, the provider token, the JIT.
      await sender.call('drive', {
        rate: 200,
        durationMs: 500,
        batch: BATCH,
        maxInFlight: MAX_IN_FLIGHT,
        drainMs: 10_000,
      });
      for (const rate of rates) {
        const step = await senderStep(ctx, sender, fakes, platform, rate, stepSec);
        out[platform].push(step);
        if (step.saturated) break;
        await sleep(300);
      }
      const best = out[platform].reduce((a, x) => (x.acceptedPerSec > a.acceptedPerSec ? x : a));
      const t = checkTarget(
        `${platform}: pushes/s through one sender process (highest of the steps)`,
        best.acceptedPerSec,
        '>=',
        TARGETS.perSec,
        'pushes/s',
        `the sender process: ${best.senderCpuMsPerPush ?? '-'} ms CPU per push (${best.senderCores} cores), the ` +
          `fake ${best.fakeCpuMsPerPush ?? '-'} ms per push, at ${best.offered}/s offered`,
      );
      if (t.met === false && !out[platform].some((x) => x.saturated)) {
        t.met = null;
        t.by = `not saturated at the highest rate offered (${rates.at(-1)}/s): offer more to judge`;
      }
      if (t.met === false) {
        const top = out[platform].find((x) => x.saturated) ?? best;
        await profiled(ctx, sender, `sender-${platform}`, `${platform} sender`, base, () =>
          senderStep(ctx, sender, fakes, platform, top.offered, stepSec),
        );
        const p = profiles[`${platform} sender`]!;
        t.limitedBy = `${t.limitedBy}; the sender's top self-time functions (profiled re-run, figures.profiles): ${profileLines(p, 5).join('; ')}; native time by caller: ${nativeLines(p, 3).join('; ')}`;
      }
      targets.push(t);
      await sender.call('close', {});
    } finally {
      await sender.stop();
    }
  }
  return { steps: out, targets };
}

// ---- (3) broadcast to offline devices ----

const seededToken = (i: number) => `c${i.toString(16)}`.padStart(64, 'a');
const SEEDED_PREFIX = 'a';

async function seed(dir: string, users: string[]): Promise<number> {
  const t0 = wallMs();
  const dd = openDataDir(dir, 'normal');
  try {
    const store = new SqliteDeviceTokenStore(dd.db);
    const now = Date.now();
    for (let start = 0; start < users.length; start += 1_000) {
      await Promise.all(
        users.slice(start, start + 1_000).map((user, j) =>
          store.put({
            user,
            device: 'phone',
            platform: 'apns',
            token: seededToken(start + j),
            topic: TOPIC,
            environment: 'production',
            locale: 'en',
            previews: true,
            updatedAtMs: now,
          }),
        ),
      );
    }
  } finally {
    dd.close();
  }
  return wallMs() - t0;
}

async function broadcast(ctx: Ctx, fakes: Fakes, api: NoticeApiClient, devices: number) {
  await fakes.call('reset', { perToken: true, keepTimes: false });
  const serverCpu0 = 0;
  const sentAt = wallMs();
  const st = await api.send({
    message_id: `${ctx.runId}-everyone`,
    target: { all: true },
    content: { title: 'bench', body: 'a notice to everyone from the push benchmark' },
    priority: 'normal',
  });
  const answeredAt = wallMs();
  if (!st.created) throw new Error(`broadcast not created: ${JSON.stringify(st)}`);
  let last = 0;
  let lastChange = wallMs();
  let counts = await fakes.call('counts', {});
  while (
    counts.accepted < devices &&
    wallMs() - lastChange < BROADCAST_STALL_MS &&
    wallMs() - sentAt < BROADCAST_MAX_MS
  ) {
    await sleep(200);
    counts = await fakes.call('counts', {});
    if (counts.accepted !== last) {
      if (Math.floor(counts.accepted / (devices / 5)) !== Math.floor(last / (devices / 5)))
        ctx.log(
          `broadcast: ${counts.accepted}/${devices} pushes at the fake after ${round((wallMs() - sentAt) / 1000, 1)} s`,
        );
      last = counts.accepted;
      lastChange = wallMs();
    }
  }
  await sleep(Math.min(2_000, COALESCE_WINDOW_MS * 2)); // anything after the last (a second alert would show here)
  counts = await fakes.call('counts', {});
  const per = await fakes.call('perToken', { prefix: SEEDED_PREFIX });
  const oneAlertEach = per.tokens === devices && per.alerts['1'] === devices;
  const lastMs = counts.lastAt > 0 ? round(counts.lastAt - sentAt, 1) : null;
  void serverCpu0;
  return {
    devices,
    pushesAtFake: counts.accepted,
    alertsAtFake: counts.alerts,
    tokensPushed: per.tokens,
    devicesByAlerts: per.alerts,
    devicesByPushes: per.pushes,
    oneAlertEach,
    requestMs: round(answeredAt - sentAt, 1),
    firstPushMs: counts.firstAt > 0 ? round(counts.firstAt - sentAt, 1) : null,
    lastPushMs: lastMs,
    pushesPerSec:
      lastMs && counts.firstAt
        ? Math.round(counts.accepted / Math.max(0.001, (counts.lastAt - counts.firstAt) / 1000))
        : null,
  };
}

// ---- (2) store to provider ----

interface StoreStep {
  offered: number;
  sent: number;
  pushes: number;
  matched: number;
  fromSendMs: Percentiles;
  saturated?: string;
}

async function storeToProvider(
  ctx: Ctx,
  server: GatewayServer,
  fakes: Fakes,
  devices: number,
  rates: number[],
  stepSec: number,
  base: string,
) {
  const workers = startWorkers(ctx, 2);
  const steps: StoreStep[] = [];
  let registered: number;
  const storeToken = (i: number) => `d${i.toString(16)}`.padStart(64, 'e');
  try {
    const recipients = Array.from({ length: devices }, (_, i) => `${ctx.runId}r${i}`);
    const senders = Array.from({ length: SENDERS }, (_, i) => `${ctx.runId}s${i}`);
    const phones = await openSpread(ctx, [workers[0]!], recipients, {
      urls: [server.url],
      device: 'phone',
      concurrency: 100,
      timeoutMs: 120_000,
      pingMs: 25_000,
    });
    const reg = await workers[0]!.call(
      'registerPush',
      {
        socks: recipients.map((_, i) => phones.slices[0]!.first + i),
        tokens: recipients.map((_, i) => storeToken(i)),
        platform: 'apns',
        topic: TOPIC,
        concurrency: 64,
        timeoutMs: 120_000,
      },
      180_000,
    );
    registered = reg.ok;
    if (reg.ok < devices) throw new Error(`push registrations: ${reg.ok}/${devices}: ${JSON.stringify(reg.errors)}`);
    await workers[0]!.call('closeAll', { timeoutMs: 30_000 });
    ctx.log(`${devices} phones registered over the WebSocket and gone offline`);
    const from = await openSpread(ctx, [workers[1]!], senders, {
      urls: [server.url],
      device: 'laptop',
      concurrency: 50,
      timeoutMs: 60_000,
      pingMs: 25_000,
    });
    if (from.failed) throw new Error(`${from.failed} sender connections failed`);
    const pairs = recipients.map((to, i) => ({ from: from.slices[0]!.first + (i % SENDERS), to }));
    const step = async (rate: number, s: number) => {
      // Each recipient at most one message per RECIPIENT_GAP_MS: the recipients used are a prefix of them.
      const used = Math.min(devices, Math.max(1, Math.floor(rate * (RECIPIENT_GAP_MS / 1000))) + 1);
      if ((used * 1000) / rate < RECIPIENT_GAP_MS) throw new Error(`too few devices (${devices}) for ${rate}/s`);
      await fakes.call('reset', { perToken: false, keepTimes: true });
      const r = await workers[1]!.call(
        'sendLoad',
        { rate, durationMs: stepSec * 1000, step: 1000 + s, pairs: pairs.slice(0, used) },
        stepSec * 1000 + 30_000,
      );
      await sleep(Math.max(2_000, COALESCE_WINDOW_MS * 2));
      const times = await fakes.call('times', {});
      // Message k went to pairs[k % used] at t0 + k * gap: each receipt belongs to that recipient's latest send before it.
      const hist = new Histogram();
      let pushes = 0;
      let matched = 0;
      for (let i = 0; i < used; i++) {
        const at = times[storeToken(i)] ?? [];
        pushes += at.length;
        for (const t of at) {
          const k = Math.floor((t - r.t0 - i * r.gap) / (used * r.gap));
          if (k < 0) continue;
          const kk = Math.min(k, Math.floor((r.planned - 1 - i) / used));
          if (kk < 0) continue;
          hist.record(t - (r.t0 + (i + kk * used) * r.gap));
          matched++;
        }
      }
      const st: StoreStep = { offered: rate, sent: r.sent, pushes, matched, fromSendMs: hist.summary() };
      const why: string[] = [];
      if (pushes < 0.99 * r.sent) why.push(`${pushes} pushes for ${r.sent} messages`);
      if (st.fromSendMs.p99 > SATURATED_P99_MS) why.push(`p99 ${st.fromSendMs.p99} ms > ${SATURATED_P99_MS} ms`);
      if (why.length) st.saturated = why.join(', ');
      ctx.log(
        `store to provider at ${rate} msg/s: ${pushes} pushes for ${r.sent} messages; send to the fake's receipt p50 ` +
          `${st.fromSendMs.p50} p99 ${st.fromSendMs.p99} max ${st.fromSendMs.max} ms` +
          (st.saturated ? ` - saturated: ${st.saturated}` : ''),
      );
      return st;
    };
    for (const [s, rate] of rates.entries()) {
      const st = await step(rate, s);
      steps.push(st);
      if (st.saturated) break;
      await sleep(RECIPIENT_GAP_MS);
    }
    const below = steps.filter((x) => !x.saturated);
    const worst = below.reduce<StoreStep | undefined>(
      (a, x) => (!a || x.fromSendMs.p99 > a.fromSendMs.p99 ? x : a),
      undefined,
    );
    const target = checkTarget(
      'store to provider: send to the fake APNs receiving its push, p99 (worst step below saturation)',
      worst?.fromSendMs.p99 ?? null,
      '<=',
      TARGETS.storeP99Ms,
      'ms',
      'the embedded server: store, push job, notifier (route, cursor, badge), ApnsSender on the one event loop',
    );
    if (target.met === false && worst) {
      await profiled(ctx, server.child, 'gateway (embedded server)', 'store to provider', base, async () => {
        await sleep(RECIPIENT_GAP_MS);
        await step(worst.offered, rates.length);
      });
      const p = profiles['store to provider']!;
      target.limitedBy = `${target.limitedBy}; the server's top self-time functions (profiled re-run): ${profileLines(p, 5).join('; ')}`;
    }
    await workers[1]!.call('closeAll', { timeoutMs: 30_000 });
    return { devices: registered, senders: SENDERS, steps, target };
  } finally {
    await stopAll(workers);
  }
}

// ---- the scenario ----

interface FakesInfo {
  apnsPort: number;
  fcmPort: number;
  ca: string;
  pid: number;
}

export async function push(ctx: Ctx) {
  const startedAt = new Date().toISOString();
  profiles = {};
  const size = SIZES[ctx.size];
  const senderRates = ctx.flags.rates ?? size.senderRates;
  const senderStepSec = ctx.flags.stepSec ?? size.senderStepSec;
  const devices = ctx.flags.users ?? size.devices;
  const storeDevices = Math.max(
    size.storeDevices,
    Math.ceil((Math.max(...size.storeRates) * RECIPIENT_GAP_MS) / 1000) + 1,
  );
  const base = join(ctx.out, `push-${stamp(new Date(startedAt))}`);
  ctx.log(
    `push: senders at ${senderRates.join('/')} pushes/s for ${senderStepSec} s each; a notice to ${devices} seeded ` +
      `offline devices; store to provider at ${size.storeRates.join('/')} msg/s over ${storeDevices} devices`,
  );
  const keys = makeKeys();
  const dataDir = mkdtempSync(join(tmpdir(), 'im-bench-push-data-'));
  const fakes: Fakes = new Child<PushFakesApi>('push-fakes', 'bench/servers/push-fakes.ts', { onLine: ctx.onLine });
  let server: GatewayServer | undefined;
  try {
    const info = await fakes.call(
      'start',
      {
        apnsPublicKey: keys.apnsPublic,
        keyId: KEY_ID,
        teamId: TEAM_ID,
        fcmPublicKey: keys.fcmPublic,
        projectId: FCM_ACCOUNT.project_id,
        clientEmail: FCM_ACCOUNT.client_email,
      },
      60_000,
    );
    writeFileSync(join(keys.dir, 'ca.pem'), info.ca);

    const senders = await senderThroughput(ctx, fakes, info, keys, senderRates, senderStepSec, base);

    const users = Array.from({ length: devices }, (_, i) => `${ctx.runId}u${i}`);
    const seedMs = await seed(dataDir, users);
    ctx.log(`seeded ${devices} registrations into the data directory in ${round(seedMs / 1000, 1)} s`);
    const operatorToken = randomBytes(24).toString('base64url');
    server = await startGatewayServer(ctx, {
      IM_DATA_DIR: dataDir,
      IM_OPERATOR_TOKEN: operatorToken,
      IM_APNS_KEY_FILE: join(keys.dir, 'key.p8'),
      IM_APNS_KEY_ID: KEY_ID,
      IM_APNS_TEAM_ID: TEAM_ID,
      IM_APNS_ADDRESS: `127.0.0.1:${info.apnsPort}`,
      IM_APNS_CA_FILE: join(keys.dir, 'ca.pem'),
      IM_PUSH_COALESCE_WINDOW_MS: String(COALESCE_WINDOW_MS),
    });
    const baseUrl = server.url.replace(/^ws/, 'http');
    const app = await new OperatorClient({ baseUrl, token: operatorToken }).createApp({
      name: 'bench push',
      scopes: ['broadcast', 'read'],
      rate_limits: { requests_per_second: 1_000, recipients_per_second: 1_000_000 },
    });
    const api = new NoticeApiClient({ baseUrl, appId: app.id, secret: app.secret, timeoutMs: 60_000 });
    const cpu0 = await server.child.call('cpuTimeMs', {});
    const everyone = await broadcast(ctx, fakes, api, devices);
    const serverCpuMs = (await server.child.call('cpuTimeMs', {})) - cpu0;
    ctx.log(
      `notice to everyone: ${everyone.pushesAtFake} pushes at the fake for ${devices} devices, the last ${everyone.lastPushMs} ms ` +
        `after the request (${everyone.pushesPerSec}/s); one alert each: ${everyone.oneAlertEach} ` +
        `(devices by alerts ${JSON.stringify(everyone.devicesByAlerts)}); server ${round(serverCpuMs / devices, 3)} ms CPU per device`,
    );

    const store = await storeToProvider(ctx, server, fakes, storeDevices, size.storeRates, size.storeStepSec, base);

    const broadcastTarget: Target = {
      name: `notice to everyone: alerts per device at the fake (coalescing: exactly one each, ${devices} devices)`,
      target: `= 1 alert per device`,
      measured: everyone.oneAlertEach ? 1 : (everyone.devicesByAlerts['1'] ?? 0) / devices,
      unit: everyone.oneAlertEach ? 'alert per device' : 'share of devices with exactly one',
      met: everyone.oneAlertEach,
      ...(everyone.oneAlertEach ? {} : { by: `devices by alerts: ${JSON.stringify(everyone.devicesByAlerts)}` }),
    };
    const targets = [...senders.targets, store.target, broadcastTarget];

    const charts: Chart[] = [
      {
        kind: 'line',
        title: 'Sender adapters: accepted vs offered (one sender process each)',
        xLabel: 'offered pushes per second',
        yLabel: 'accepted per second',
        series: (['apns', 'fcm'] as const).map((p, i) => ({
          name: p,
          color: PALETTE[i],
          points: senders.steps[p].map((x) => [x.offered, x.acceptedPerSec] as [number, number]),
        })),
        hLine: { y: TARGETS.perSec, label: `target ${TARGETS.perSec}/s` },
      },
      {
        kind: 'line',
        title: 'Store to provider: send to the fake APNs, by rate',
        xLabel: 'messages per second',
        yLabel: 'ms',
        series: (['p50', 'p99'] as const).map((q, i) => ({
          name: q,
          color: PALETTE[i],
          points: store.steps.map((x) => [x.offered, x.fromSendMs[q]] as [number, number]),
        })),
        hLine: { y: TARGETS.storeP99Ms, label: `target p99 ${TARGETS.storeP99Ms} ms` },
      },
    ];
    return writeResult(
      ctx.out,
      {
        scenario: 'push',
        title: 'Mobile push: sender throughput, store to provider, a notice to everyone offline',
        startedAt,
        command: ctx.command,
        size: ctx.size,
        mode: ['embedded, disk'],
        load: {
          providers: 'the fake APNs and FCM (test/fakes) on 127.0.0.1 in a process of their own',
          senderRates,
          senderStepSec,
          senderBatch: BATCH,
          senderMaxInFlight: MAX_IN_FLIGHT,
          senderTransport:
            'APNs: ApnsSender (@parse/node-apn), one HTTP/2 connection; FCM: FcmSender (firebase-admin sendEach, ' +
            'its HTTP/1.1 transport through the keep-alive agent app/mobile-senders.ts configures, at most 64 ' +
            'connections: firebase-admin has no single-connection HTTP/2 path through an agent)',
          broadcastDevices: devices,
          registrations:
            'part 3: seeded directly into the data directory (SqliteDeviceTokenStore through lib/data-dir.ts, closed ' +
            'before the server started), not made over WebSockets; part 2: registered over the WebSocket',
          storeDevices,
          storeRates: size.storeRates,
          storeStepSec: size.storeStepSec,
          senders: SENDERS,
          coalesceWindowMs: COALESCE_WINDOW_MS,
          recipientGapMs: RECIPIENT_GAP_MS,
          store:
            'embedded mode on a data directory of its own on disk (IM_DATA_DIR=<tmp dir>), as npm start keeps its data',
        },
        figures: {
          senders: senders.steps,
          broadcast: { ...everyone, seedMs: round(seedMs, 1), serverCpuMsPerDevice: round(serverCpuMs / devices, 4) },
          storeToProvider: { devices: store.devices, senders: store.senders, steps: store.steps },
          profiles,
        },
        baselines: { bun: BUN_BASELINE },
        targets,
        notes: [
          'Sender latency per push: from its scheduled time to the outcome of its batch (sender.send of up to ' +
            `${BATCH} pushes resolves when every push of it has its answer).`,
          'Store to provider: from the scheduled time of the send in the client process (an upper bound of stored to ' +
            "received) to the fake's receipt, one clock; each recipient gets at most one message per " +
            `${RECIPIENT_GAP_MS} ms (more than the ${COALESCE_WINDOW_MS} ms coalescing window), so every message gives one alert and each ` +
            "receipt belongs to that recipient's latest send before it.",
          'The notice to everyone: registrations were seeded into the data directory before the server started, not ' +
            'made over WebSockets; the time is from the request to the last push the fake accepted.',
          'The fakes verify the provider token as Apple does; the fake APNs verifies a provider token once and keeps ' +
            'it (a provider sends the same one for up to an hour).',
        ],
      },
      charts,
      [
        `senders ${senderRates.join('/')}/s; notice to ${devices} devices; store to provider ${size.storeRates.join('/')} msg/s`,
      ],
    );
  } finally {
    await server?.child.stop();
    await fakes.call('close', {}).catch(() => undefined);
    await fakes.stop();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(keys.dir, { recursive: true, force: true });
  }
}
