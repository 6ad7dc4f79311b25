// Scenario: what end-to-end encryption costs (issue 24). (1) The SDK's crypto in this process, no server: CPU to seal
// and to open a message, 1:1 with 1, 2, 4 and 8 recipient devices (the slope is the cost per recipient device) and
// groups of 10 and 50 on sender keys, in steady state; session set-up (X3DH) and turn-taking (DH ratchet steps)
// apart; envelope bytes. The key directory is the server's KeyService over its memory adapter, called directly.
// (2) The latency an encrypted 1:1 send adds at 1,000 msg/s: the embedded server in a process of its own (as
// latency does), pairs of SDK clients in this process, plaintext and encrypted pairs taking turns at the same rate:
// send to delivered (opened) p50/p99, lost, the client process's CPU per message. Cluster mode with --mode.
import { localSigner } from '../../lib/local-auth.ts';
import { InProcessDirectory } from '../lib/e2e-devices.ts';
import { measureCryptoCost, type CryptoCost } from '../lib/e2e-crypto-cost.ts';
import { measureSendLatency, type SendLatency, type SendLatencyOptions } from '../lib/e2e-send-latency.ts';
import { e2eCharts } from '../lib/e2e-charts.ts';
import { enginePids, startBenchCluster, startGatewayServer, type Ctx } from '../lib/fleet.ts';
import { PidsCpu } from '../lib/machine.ts';
import { checkTarget, writeResult, BUN_BASELINE, type Target } from '../lib/result.ts';

const SIZES = {
  tiny: {
    messages: 50,
    groupMessages: 20,
    warmUp: 20,
    setupSessions: 5,
    pairs: 40,
    turnSec: 3,
    turns: 1,
    warmUpSec: 1,
  },
  default: {
    messages: 1_000,
    groupMessages: 300,
    warmUp: 200,
    setupSessions: 50,
    pairs: 100,
    turnSec: 8,
    turns: 2,
    warmUpSec: 2,
  },
  large: {
    messages: 5_000,
    groupMessages: 1_000,
    warmUp: 500,
    setupSessions: 200,
    pairs: 200,
    turnSec: 20,
    turns: 3,
    warmUpSec: 5,
  },
};
const RATE = 1_000;
const BODY_BYTES = 100;
const DRAIN_MS = 5_000;
const DEVICES = [1, 2, 4, 8];
const GROUPS = [10, 50];

const TARGETS = {
  perDeviceUs: 100,
  oneDeviceUs: 200,
  groupOpenUs: 200,
  addedP50Ms: 2,
  addedP99Ms: 10,
};

async function embeddedLatency(ctx: Ctx, o: Omit<SendLatencyOptions, 'urls' | 'token' | 'userPrefix'>) {
  const gw = await startGatewayServer(ctx);
  try {
    const signer = localSigner(ctx.auth);
    return await measureSendLatency({
      ...o,
      urls: [gw.url],
      token: (user, device) => signer.sign(user, device, 3_600),
      userPrefix: `${ctx.runId}m`,
      serverCpuMs: () => gw.child.call('cpuTimeMs', {}),
    });
  } finally {
    await gw.child.stop();
  }
}

async function clusterLatency(ctx: Ctx, o: Omit<SendLatencyOptions, 'urls' | 'token' | 'userPrefix'>) {
  const cluster = await startBenchCluster(ctx);
  try {
    const meter = new PidsCpu({ ...cluster.pids(), ...(await enginePids()) });
    let usedMs = 0;
    let last = performance.now();
    const serverCpuMs = () => {
      const now = performance.now();
      usedMs += Object.values(meter.sample()).reduce((a, b) => a + b, 0) * (now - last);
      last = now;
      return Promise.resolve(usedMs);
    };
    return await measureSendLatency({
      ...o,
      urls: cluster.gateways.map((g) => g.url),
      token: (user, device) => cluster.token(user, device),
      userPrefix: `${ctx.runId}c`,
      serverCpuMs,
    });
  } finally {
    await cluster.close();
  }
}

function cryptoTargets(c: CryptoCost): Target[] {
  const one = c.oneToOne.find((x) => x.recipientDevices === 1);
  const worstGroupOpen = Math.max(...c.groups.map((g) => g.openUs));
  const sealShare = `seal ${c.perRecipientDevice.sealUs} µs and open ${c.perRecipientDevice.openUs} µs per device`;
  return [
    checkTarget(
      '1:1 seal + open CPU per recipient device (slope over 1-8 devices)',
      c.perRecipientDevice.totalUs,
      '<=',
      TARGETS.perDeviceUs,
      'µs',
      sealShare,
    ),
    checkTarget(
      '1:1 seal + open CPU per message, 1 recipient device',
      one?.totalUs ?? null,
      '<=',
      TARGETS.oneDeviceUs,
      'µs',
    ),
    checkTarget(
      `group (sender keys): open CPU per member device, worst of ${GROUPS.join(' and ')} members`,
      c.groups.length ? worstGroupOpen : null,
      '<=',
      TARGETS.groupOpenUs,
      'µs',
      'an Ed25519 signature check per message and device',
    ),
  ];
}

function latencyTargets(mode: string, l: SendLatency): Target[] {
  const limitedBy =
    `plaintext p50 ${l.plaintext.latencyMs.p50} p99 ${l.plaintext.latencyMs.p99} ms, encrypted p50 ` +
    `${l.encrypted.latencyMs.p50} p99 ${l.encrypted.latencyMs.p99} ms; client loop busy ` +
    `${Math.round(l.encrypted.clientLoopUtilization * 100)}% encrypted vs ${Math.round(l.plaintext.clientLoopUtilization * 100)}%`;
  return [
    checkTarget(
      `${mode}: added p50 of a 1:1 send at ${RATE} msg/s`,
      l.added.p50Ms,
      '<=',
      TARGETS.addedP50Ms,
      'ms',
      limitedBy,
    ),
    checkTarget(
      `${mode}: added p99 of a 1:1 send at ${RATE} msg/s`,
      l.added.p99Ms,
      '<=',
      TARGETS.addedP99Ms,
      'ms',
      limitedBy,
    ),
    checkTarget(`${mode}: messages lost (both modes)`, l.plaintext.lost + l.encrypted.lost, '<=', 0, 'messages'),
  ];
}

export async function e2e(ctx: Ctx) {
  const startedAt = new Date().toISOString();
  const size = SIZES[ctx.size];
  const mode = ctx.flags.mode ?? 'embedded';
  const pairs = ctx.flags.pairs ?? size.pairs;
  const turnSec = ctx.flags.stepSec ?? size.turnSec;
  ctx.log(
    `e2e: crypto in-process (${size.messages} messages per 1:1 case, ${size.groupMessages} per group), then ` +
      `${RATE} msg/s over ${pairs} SDK pairs per mode, ${size.turns} x ${turnSec} s per mode in turns (${mode})`,
  );
  const crypto = await measureCryptoCost(new InProcessDirectory(), {
    prefix: `${ctx.runId}k`,
    bodyBytes: BODY_BYTES,
    messages: size.messages,
    groupMessages: size.groupMessages,
    warmUp: size.warmUp,
    devices: DEVICES,
    groups: GROUPS,
    setupSessions: size.setupSessions,
    log: ctx.log,
  });
  ctx.log(
    `1:1 per recipient device: ${crypto.perRecipientDevice.totalUs} µs (seal ${crypto.perRecipientDevice.sealUs}, ` +
      `open ${crypto.perRecipientDevice.openUs}), ${crypto.perRecipientDevice.envelopeBytes} B; fixed ` +
      `${crypto.fixed.totalUs} µs per message`,
  );
  const options = {
    pairs,
    ratePerSec: RATE,
    turnSec,
    turns: size.turns,
    warmUpSec: size.warmUpSec,
    bodyBytes: BODY_BYTES,
    drainMs: DRAIN_MS,
    log: ctx.log,
  };
  const latency: Record<string, SendLatency> = {};
  if (mode !== 'cluster')
    latency.embedded = await embeddedLatency(ctx, { ...options, log: (l) => ctx.log(`embedded ${l}`) });
  if (mode !== 'embedded')
    latency.cluster = await clusterLatency(ctx, { ...options, log: (l) => ctx.log(`cluster ${l}`) });
  for (const [name, l] of Object.entries(latency)) {
    ctx.log(
      `${name}: added p50 ${l.added.p50Ms} ms, p99 ${l.added.p99Ms} ms; client CPU ${l.plaintext.clientCpuUsPerMessage} ` +
        `-> ${l.encrypted.clientCpuUsPerMessage} µs per message; lost ${l.plaintext.lost} + ${l.encrypted.lost}`,
    );
  }
  const targets = [...cryptoTargets(crypto), ...Object.entries(latency).flatMap(([n, l]) => latencyTargets(n, l))];
  return writeResult(
    ctx.out,
    {
      scenario: 'e2e',
      title: 'End-to-end encryption: SDK crypto cost and the latency it adds',
      startedAt,
      command: ctx.command,
      size: ctx.size,
      mode: Object.keys(latency),
      load: {
        bodyBytes: BODY_BYTES,
        crypto: { ...size, devices: DEVICES, groups: GROUPS, inProcess: true },
        latency: { ratePerSec: RATE, pairs, turnSec, turns: size.turns, warmUpSec: size.warmUpSec, openLoop: true },
      },
      figures: { crypto, latency },
      baselines: {
        plaintext: 'the same SDK clients, pairs of their own, sending plaintext at the same rate in alternate turns',
        bun: BUN_BASELINE,
      },
      targets,
      notes: [
        'Crypto CPU is process.cpuUsage() around many messages in one process (garbage collection included); the ' +
          "key directory's own CPU (KeyService over its memory adapter, called directly) is left out of set-up.",
        'Steady state: every session was answered once (no prekey headers), then a warm-up; messages go one way, so ' +
          'each open is a chain step. Turn-taking (every message a reply) adds a DH ratchet step per open: figures.crypto.turns.',
        'Latency: from the time each message was due by the schedule to the recipient ImClient emitting it (opened), ' +
          'one clock; senders and recipients are all in the bench process, the server in a process of its own. The ' +
          'SDK asks for the peer device list again every 5 s (its default), inside that send.',
      ],
    },
    e2eCharts(crypto, latency, TARGETS),
    [`${RATE} msg/s, ${pairs} pairs per mode, ${BODY_BYTES}-byte bodies; crypto in one process, no server`],
  );
}
