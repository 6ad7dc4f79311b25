// The fake push providers (test/fakes/apns.ts, test/fakes/fcm.ts) in a process of their own for the push scenario,
// so that a sender's or the server's CPU is its own: both on 127.0.0.1, counting what they accept (pushes and
// visible alerts per token, receipt times while asked to keep them) instead of keeping every push.
import { createPublicKey } from 'node:crypto';
import { FakeApns } from '../../test/fakes/apns.ts';
import { FakeFcm } from '../../test/fakes/fcm.ts';
import { testTls } from '../../test/fakes/test-ca.ts';
import { serve } from '../lib/rpc.ts';

let apns: FakeApns | undefined;
let fcm: FakeFcm | undefined;

interface Tally {
  accepted: number;
  alerts: number;
  firstAt: number;
  lastAt: number;
  /** Visible alerts per token. */
  alertsByToken: Map<string, number>;
  /** Pushes (alert or not) per token. */
  pushesByToken: Map<string, number>;
  /** Receipt times per token, while `keepTimes`. */
  times: Map<string, number[]>;
}

const fresh = (): Tally => ({
  accepted: 0,
  alerts: 0,
  firstAt: 0,
  lastAt: 0,
  alertsByToken: new Map(),
  pushesByToken: new Map(),
  times: new Map(),
});
let tally = fresh();
let keepTimes = false;
let perToken = false;

function record(token: string, alert: boolean, at: number): void {
  tally.accepted += 1;
  if (tally.firstAt === 0) tally.firstAt = at;
  tally.lastAt = at;
  if (alert) tally.alerts += 1;
  if (perToken) {
    tally.pushesByToken.set(token, (tally.pushesByToken.get(token) ?? 0) + 1);
    if (alert) tally.alertsByToken.set(token, (tally.alertsByToken.get(token) ?? 0) + 1);
  }
  if (keepTimes) {
    const list = tally.times.get(token);
    if (list) list.push(at);
    else tally.times.set(token, [at]);
  }
}

const handlers = {
  async start(p: {
    apnsPublicKey: string;
    keyId: string;
    teamId: string;
    fcmPublicKey: string;
    projectId: string;
    clientEmail: string;
  }) {
    apns = await FakeApns.start({
      publicKey: createPublicKey(p.apnsPublicKey),
      keyId: p.keyId,
      teamId: p.teamId,
      onAccepted: (push, at) => record(push.token, push.headers['apns-push-type'] === 'alert', at),
    });
    fcm = await FakeFcm.start({
      projectId: p.projectId,
      clientEmail: p.clientEmail,
      publicKey: createPublicKey(p.fcmPublicKey),
      onAccepted: (m, at) =>
        record(m.token, m.message.android !== undefined && 'notification' in (m.message.android as object), at),
    });
    return { apnsPort: apns.port, fcmPort: fcm.port, ca: (await testTls()).ca, pid: process.pid };
  },
  /** Forgets what was counted; from now on counts per token and keeps receipt times when asked. */
  reset(p: { perToken: boolean; keepTimes: boolean }) {
    tally = fresh();
    perToken = p.perToken;
    keepTimes = p.keepTimes;
    return {};
  },
  counts() {
    return { accepted: tally.accepted, alerts: tally.alerts, firstAt: tally.firstAt, lastAt: tally.lastAt };
  },
  /**
   * Per token of those named by `prefix`: how many tokens got how many alerts and pushes ({"1": 99_999, ...}), the
   * tokens seen.
   */
  perToken(p: { prefix: string }) {
    const alerts: Record<string, number> = {};
    const pushes: Record<string, number> = {};
    let tokens = 0;
    for (const [token, n] of tally.pushesByToken) {
      if (!token.startsWith(p.prefix)) continue;
      tokens += 1;
      pushes[n] = (pushes[n] ?? 0) + 1;
      const a = tally.alertsByToken.get(token) ?? 0;
      alerts[a] = (alerts[a] ?? 0) + 1;
    }
    return { tokens, alerts, pushes };
  },
  /** Receipt times of each token, by token. */
  times() {
    return Object.fromEntries(tally.times);
  },
  /** CPU time this process has used since it started (user + system), in ms. */
  cpuTimeMs() {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  },
  async close() {
    await Promise.all([apns?.close(), fcm?.close()]);
    return {};
  },
};

export type PushFakesApi = typeof handlers;

serve(handlers);
