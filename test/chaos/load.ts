// The clients of a chaos run: every device over a real WebSocket with the SDK, each sending in a bounded loop to its
// user's conversations, and an app sending notices through the notice API. Everything they are told is recorded.
import { NoticeApiClient, OperatorClient } from '../../client/notice-api.ts';
import { ImClient } from '../../client/sdk.ts';
import { ImError } from '../../lib/errors.ts';
import { messageKey, noticeKey } from './history.ts';
import type { Conversation, Population } from './population.ts';
import type { Recorder } from './recorder.ts';

export interface LoadTarget {
  gateways: string[];
  token(user: string, device: string): string;
  noticeUrl: string;
  operatorToken: string;
}

export interface Device {
  user: string;
  device: string;
  client: ImClient;
}

export interface LoadOptions {
  /** Mean pause between one device's sends (each device has one send in flight at a time). */
  thinkMs: number;
  /** A send without an acknowledgement after this long is given up (recorded unacknowledged). */
  sendTimeoutMs: number;
  /** Mean pause between notices (0: none). */
  noticeEveryMs: number;
  noticeRecipients: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const jitter = (ms: number) => ms * (0.5 + Math.random());
const pick = <T>(list: readonly T[]): T => list[Math.floor(Math.random() * list.length)]!;

/**
 * Connects every device. Each asks for a gateway at every connect, the next one each time: a device whose gateway
 * died comes back on another, as behind a load balancer.
 */
export async function connectDevices(pop: Population, target: LoadTarget, o: LoadOptions, rec: Recorder) {
  const devices: Device[] = [];
  let n = 0;
  for (const user of pop.users) {
    for (const device of pop.devices) {
      let turn = n++;
      const client = new ImClient({
        url: () => target.gateways[turn++ % target.gateways.length]!,
        token: () => target.token(user, device),
        backoff: { minMs: 100, maxMs: 2_000 },
        sendRetryMs: 2_000,
        sendTimeoutMs: o.sendTimeoutMs,
      });
      client.on('error', () => undefined);
      rec.watch(user, device, client);
      devices.push({ user, device, client });
    }
  }
  for (let i = 0; i < devices.length; i += 50) {
    await Promise.all(devices.slice(i, i + 50).map((d) => d.client.connect()));
  }
  return devices;
}

/** Creates the groups (before any fault) and records who must have each conversation's messages. */
export async function createGroups(pop: Population, devices: Device[], rec: Recorder): Promise<void> {
  for (const c of pop.conversations) {
    if (c.kind !== 'dm') {
      const owner = devices.find((d) => d.user === c.owner)!;
      const group = await owner.client.createGroup(c.id, c.members);
      c.groupId = group.groupId;
      c.id = `group:${group.groupId}`;
    }
    rec.members[c.id] = c.members;
  }
}

/** One device's send loop until `stop` says so: one send in flight, then a pause. */
export async function sendLoop(d: Device, pop: Population, o: LoadOptions, rec: Recorder, stop: () => boolean) {
  const mine = pop.of.get(d.user) ?? [];
  let n = 0;
  await sleep(Math.random() * o.thinkMs);
  while (!stop()) {
    const c = pick(mine);
    const clientMsgId = `${d.device}-${n++}`;
    const record = rec.started({
      key: messageKey(d.user, d.device, clientMsgId),
      sender: d.user,
      device: d.device,
      conversation: c.id,
    });
    try {
      const result = await d.client.send(peerOf(c, d.user), { text: `${d.user}/${d.device} #${n}` }, clientMsgId);
      const stream = c.kind === 'large group' ? c.id : 'inbox';
      record.ack = { id: result.serverMsgId, seq: result.seq, stream, atMs: Date.now() };
    } catch (err) {
      // Given up or refused: recorded without an acknowledgement (it may still have been stored).
      record.failure = { code: err instanceof ImError ? err.code : String(err), atMs: Date.now() };
    }
    await sleep(jitter(o.thinkMs));
  }
}

function peerOf(c: Conversation, me: string): { user: string } | { group: string } {
  if (c.groupId) return { group: c.groupId };
  return { user: c.members.find((m) => m !== me)! };
}

/** An app with its credentials, made by the operator (before any fault). */
export async function noticeApp(target: LoadTarget, runId: string): Promise<NoticeApiClient> {
  const operator = new OperatorClient({ baseUrl: target.noticeUrl, token: target.operatorToken });
  const app = await operator.createApp({
    name: `chaos ${runId}`,
    scopes: ['unicast', 'multicast', 'read'],
    rate_limits: { requests_per_second: 1000, recipients_per_second: 10_000 },
  });
  return new NoticeApiClient({ baseUrl: target.noticeUrl, appId: app.id, secret: app.secret, timeoutMs: 10_000 });
}

/**
 * Notices to a few users at a time until `stop`: each sent again with the same message_id (the app's idempotency
 * key) until accepted or `sendTimeoutMs` passes. Accepted = acknowledged: each recipient must have it once.
 */
export async function noticeLoop(
  api: NoticeApiClient,
  pop: Population,
  o: LoadOptions,
  rec: Recorder,
  stop: () => boolean,
) {
  for (let n = 0; o.noticeEveryMs > 0 && !stop(); n++) {
    await sleep(jitter(o.noticeEveryMs));
    const users = [...new Set(Array.from({ length: o.noticeRecipients }, () => pick(pop.users)))];
    const record = rec.started({ key: '', sender: 'app', device: '', conversation: 'system', audience: users });
    const deadline = record.startedAtMs + o.sendTimeoutMs;
    while (Date.now() < deadline) {
      try {
        const status = await api.send({
          message_id: `chaos-${n}`,
          target: { users },
          content: { title: `notice ${n}`, body: '' },
        });
        record.key = noticeKey(status.id);
        record.ack = { id: status.id, seq: 0, stream: 'inbox', atMs: Date.now() };
        delete record.failure;
        break;
      } catch (err) {
        record.failure = { code: err instanceof ImError ? err.code : String(err), atMs: Date.now() };
        await sleep(1_000);
      }
    }
  }
}
