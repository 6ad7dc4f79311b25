// The client's end-to-end crypto cost in one process (issue 24): CPU per message to seal and to open, 1:1 with 1 to
// 8 recipient devices (the slope is the cost per recipient device) and small groups on sender keys, in steady state
// (sessions set up and answered, JIT warm); the set-up of a session (X3DH) and a change of turn (a DH ratchet step)
// apart; the envelope's bytes. CPU is process.cpuUsage() around many messages, so garbage collection is in it.
import { dmConversation, groupConversation } from '../../lib/conversation.ts';
import {
  benchDevice,
  cpuUs,
  delivered,
  openAll,
  seal,
  type BenchDevice,
  type InProcessDirectory,
} from './e2e-devices.ts';
import { round } from './result.ts';

export interface CryptoCase {
  name: string;
  kind: '1:1' | 'group';
  /** Devices that open each message (the sender's excepted). */
  recipientDevices: number;
  messages: number;
  /** CPU to seal one message, in µs. */
  sealUs: number;
  /** CPU for one recipient device to open one message, in µs (the mean over the devices). */
  openUs: number;
  /** Seal and every recipient device's open of one message, in µs. */
  totalUs: number;
  /** totalUs per recipient device. */
  perDeviceUs: number;
  /** The envelope sent as the message's body, in bytes. */
  envelopeBytes: number;
}

export interface SetupCost {
  sessions: number;
  /** The first message to a device with no session yet (X3DH as initiator on the bundle the directory handed out). */
  firstSealUs: number;
  /** Opening that first message (X3DH as responder). */
  firstOpenUs: number;
  /** The directory's own CPU per session (the server's, not the client's: left out of firstSealUs). */
  directoryUs: number;
}

export interface TurnCost {
  /** Messages each way, every one a reply to the one before. */
  messages: number;
  sealUs: number;
  /** Opening a reply after a send: a DH ratchet step (three X25519 operations) on top of the chain step. */
  openUs: number;
}

export interface CryptoOptions {
  prefix: string;
  bodyBytes: number;
  messages: number;
  groupMessages: number;
  warmUp: number;
  devices: number[];
  groups: number[];
  setupSessions: number;
  log: (line: string) => void;
}

export interface CryptoCost {
  oneToOne: CryptoCase[];
  groups: CryptoCase[];
  setup: SetupCost;
  turns: TurnCost;
  /** Least-squares fit over the 1:1 cases, per recipient device: the cost each further device adds. */
  perRecipientDevice: { sealUs: number; openUs: number; totalUs: number; envelopeBytes: number };
  /** The same fit's intercept: what a message costs whatever its devices. */
  fixed: { totalUs: number; envelopeBytes: number };
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

async function sealMany(from: BenchDevice, conversation: string, readers: string[], body: Uint8Array, count: number) {
  const sealed = [];
  const t0 = cpuUs();
  for (let i = 0; i < count; i++) sealed.push(await seal(from, conversation, readers, body));
  return { messages: sealed.map(delivered), us: cpuUs() - t0, bytes: sealed.reduce((n, s) => n + s.body.length, 0) };
}

/** Warm-up (not measured), then `count` messages sealed by `from` and opened on every device of `readers`. */
async function steady(
  name: string,
  kind: CryptoCase['kind'],
  from: BenchDevice,
  recipients: BenchDevice[],
  conversation: string,
  readers: string[],
  count: number,
  o: CryptoOptions,
): Promise<CryptoCase> {
  const body = Buffer.alloc(o.bodyBytes, 'x');
  const warm = await sealMany(from, conversation, readers, body, o.warmUp);
  openAll(recipients, warm.messages, o.bodyBytes);
  const run = await sealMany(from, conversation, readers, body, count);
  const t0 = cpuUs();
  openAll(recipients, run.messages, o.bodyBytes);
  const openedUs = cpuUs() - t0;
  const n = recipients.length;
  const sealUs = run.us / count;
  const openUs = openedUs / (count * n);
  const c: CryptoCase = {
    name,
    kind,
    recipientDevices: n,
    messages: count,
    sealUs: round(sealUs, 1),
    openUs: round(openUs, 1),
    totalUs: round(sealUs + n * openUs, 1),
    perDeviceUs: round((sealUs + n * openUs) / n, 1),
    envelopeBytes: Math.round(run.bytes / count),
  };
  o.log(
    `${name}: seal ${c.sealUs} µs, open ${c.openUs} µs per device, ${c.perDeviceUs} µs per recipient device; ` +
      `envelope ${c.envelopeBytes} B (${count} messages)`,
  );
  return c;
}

/** 1:1 from a one-device user to a user with `n` devices, every session answered once (no prekey headers left). */
async function oneToOne(dir: InProcessDirectory, n: number, o: CryptoOptions): Promise<CryptoCase> {
  const [alice, bob] = [`${o.prefix}a${n}`, `${o.prefix}b${n}`];
  const sender = await benchDevice(dir, alice, 'd');
  const bobs = await Promise.all(range(n).map((i) => benchDevice(dir, bob, `d${i}`)));
  const conversation = dmConversation(alice, bob);
  const readers = [alice, bob];
  const body = Buffer.alloc(o.bodyBytes, 'x');
  openAll(bobs, [delivered(await seal(sender, conversation, readers, body))], o.bodyBytes);
  for (const b of bobs) {
    const reply = delivered(await seal(b, conversation, readers, body));
    openAll([sender, ...bobs.filter((x) => x !== b)], [reply], o.bodyBytes);
  }
  const name = `1:1, ${n} recipient device${n > 1 ? 's' : ''}`;
  return steady(name, '1:1', sender, bobs, conversation, readers, o.messages, o);
}

/** A group of `members` users with one device each; the first message hands the sender key out (set-up). */
async function group(dir: InProcessDirectory, members: number, o: CryptoOptions): Promise<CryptoCase> {
  const users = range(members).map((i) => `${o.prefix}g${members}u${i}`);
  const devices = await Promise.all(users.map((u) => benchDevice(dir, u, 'd')));
  const conversation = groupConversation(`${o.prefix}g${members}`);
  const [sender, ...others] = devices as [BenchDevice, ...BenchDevice[]];
  const first = await seal(sender, conversation, users, Buffer.alloc(o.bodyBytes, 'x'));
  openAll(others, [delivered(first)], o.bodyBytes);
  return steady(`group of ${members}`, 'group', sender, others, conversation, users, o.groupMessages, o);
}

/** First messages to devices never written to, after a few not measured (JIT). */
async function sessionSetup(dir: InProcessDirectory, o: CryptoOptions): Promise<SetupCost> {
  const warm = Math.min(10, o.setupSessions);
  const sender = await benchDevice(dir, `${o.prefix}x`, 'd');
  const peers = await Promise.all(range(warm + o.setupSessions).map((i) => benchDevice(dir, `${o.prefix}x${i}`, 'd')));
  const body = Buffer.alloc(o.bodyBytes, 'x');
  const sealTo = (p: BenchDevice) => seal(sender, dmConversation(sender.user, p.user), [sender.user, p.user], body);
  for (const p of peers.slice(0, warm)) openAll([p], [delivered(await sealTo(p))], o.bodyBytes);
  const measured = peers.slice(warm);
  const server0 = dir.serverUs;
  const t0 = cpuUs();
  const sealed = [];
  for (const p of measured) sealed.push(await sealTo(p));
  const directoryUs = dir.serverUs - server0;
  const sealUs = cpuUs() - t0 - directoryUs;
  const messages = sealed.map(delivered);
  const t1 = cpuUs();
  measured.forEach((p, i) => openAll([p], [messages[i]!], o.bodyBytes));
  const openUs = cpuUs() - t1;
  const k = measured.length;
  const setup = {
    sessions: k,
    firstSealUs: round(sealUs / k, 1),
    firstOpenUs: round(openUs / k, 1),
    directoryUs: round(directoryUs / k, 1),
  };
  o.log(
    `session set-up (X3DH), ${k} new devices: first seal ${setup.firstSealUs} µs, first open ${setup.firstOpenUs} µs ` +
      `(the directory's own ${setup.directoryUs} µs per claim left out)`,
  );
  return setup;
}

/** A conversation where every message answers the last: each open takes a DH ratchet step. */
async function turns(dir: InProcessDirectory, o: CryptoOptions): Promise<TurnCost> {
  const [alice, bob] = [`${o.prefix}ta`, `${o.prefix}tb`];
  const a = await benchDevice(dir, alice, 'd');
  const b = await benchDevice(dir, bob, 'd');
  const conversation = dmConversation(alice, bob);
  const body = Buffer.alloc(o.bodyBytes, 'x');
  let sealUs = 0;
  let openUs = 0;
  const exchange = async (count: number) => {
    for (let i = 0; i < 2 * count; i++) {
      const [from, to] = i % 2 === 0 ? [a, b] : [b, a];
      const t0 = cpuUs();
      const m = delivered(await seal(from, conversation, [alice, bob], body));
      const t1 = cpuUs();
      openAll([to], [m], o.bodyBytes);
      sealUs += t1 - t0;
      openUs += cpuUs() - t1;
    }
  };
  await exchange(o.warmUp);
  sealUs = openUs = 0;
  await exchange(o.messages);
  const cost = {
    messages: o.messages,
    sealUs: round(sealUs / (2 * o.messages), 1),
    openUs: round(openUs / (2 * o.messages), 1),
  };
  o.log(`turn-taking 1:1 (every message a reply): seal ${cost.sealUs} µs, open ${cost.openUs} µs (DH step)`);
  return cost;
}

/** Least squares y = a + b x. */
function fit(points: [number, number][]): { slope: number; intercept: number } {
  const n = points.length;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  const sxx = points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  const sxy = points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0);
  const slope = sxx > 0 ? sxy / sxx : 0;
  return { slope, intercept: my - slope * mx };
}

export async function measureCryptoCost(dir: InProcessDirectory, o: CryptoOptions): Promise<CryptoCost> {
  const setup = await sessionSetup(dir, o);
  // Every code path once before anything is measured (the first case measured would otherwise pay for the JIT).
  await oneToOne(dir, 2, { ...o, prefix: `${o.prefix}w`, log: () => undefined });
  const oneToOneCases: CryptoCase[] = [];
  for (const n of o.devices) oneToOneCases.push(await oneToOne(dir, n, o));
  const groups: CryptoCase[] = [];
  for (const m of o.groups) groups.push(await group(dir, m, o));
  const turnCost = await turns(dir, o);
  const by = (key: 'sealUs' | 'totalUs' | 'envelopeBytes') =>
    fit(oneToOneCases.map((c) => [c.recipientDevices, c[key]]));
  const openFit = fit(oneToOneCases.map((c) => [c.recipientDevices, c.openUs * c.recipientDevices]));
  return {
    oneToOne: oneToOneCases,
    groups,
    setup,
    turns: turnCost,
    perRecipientDevice: {
      sealUs: round(by('sealUs').slope, 1),
      openUs: round(openFit.slope, 1),
      totalUs: round(by('totalUs').slope, 1),
      envelopeBytes: Math.round(by('envelopeBytes').slope),
    },
    fixed: { totalUs: round(by('totalUs').intercept, 1), envelopeBytes: Math.round(by('envelopeBytes').intercept) },
  };
}
