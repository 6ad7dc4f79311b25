// One push process's sender adapter (push/mobile/apns-sender.ts or fcm-sender.ts) in a process of its own, driving
// the fake provider (bench/servers/push-fakes.ts, another process) open loop at a rate: what it was offered, what
// the provider accepted and when, and this process's CPU. A CPU profile of a stretch (node:inspector) on request.
import { randomUUID } from 'node:crypto';
import { ApnsSender } from '../../push/mobile/apns-sender.ts';
import { FcmSender } from '../../push/mobile/fcm-sender.ts';
import type { MobilePush, Platform, PushSender } from '../../push/mobile/push-sender.ts';
import { RedirectAgent } from '../../push/mobile/redirect-agent.ts';
import { selfProfiler } from '../lib/cpu-profile.ts';
import { Histogram } from '../lib/histogram.ts';
import { sleep, wallMs } from '../lib/progress.ts';
import { serve } from '../lib/rpc.ts';

let sender: PushSender | undefined;
let platform: Platform = 'apns';
const profiler = selfProfiler();
/** Device tokens pushed to, round robin. */
const TOKENS = 1_000;

function push(i: number): MobilePush {
  const token =
    platform === 'apns' ? `${(i % TOKENS).toString(16)}`.padStart(64, 'b') : `bench-fcm-token-${i % TOKENS}`;
  return {
    id: randomUUID(),
    target: { platform, token, topic: 'com.example.bench', environment: 'production' },
    alert: { title: 'bench-a', body: 'a message from the push benchmark' },
    badge: 1 + (i % 50),
    collapseId: 'dm:bench-a:bench-b',
    priority: 'high',
    expireAtMs: 0,
    data: { conversation: 'dm:bench-a:bench-b', seq: String(i + 1), stream: 'inbox' },
  };
}

const handlers = {
  setup(p: {
    platform: Platform;
    apns: { key: string; keyId: string; teamId: string; port: number; ca: string };
    fcm: { projectId: string; clientEmail: string; privateKey: string; port: number; ca: string };
  }) {
    platform = p.platform;
    if (p.platform === 'apns') {
      const endpoint = { address: '127.0.0.1', port: p.apns.port };
      sender = new ApnsSender({
        key: p.apns.key,
        keyId: p.apns.keyId,
        teamId: p.apns.teamId,
        endpoints: { production: endpoint, sandbox: endpoint },
        ca: p.apns.ca,
      });
    } else {
      sender = new FcmSender({
        projectId: p.fcm.projectId,
        clientEmail: p.fcm.clientEmail,
        privateKey: p.fcm.privateKey,
        // As app/mobile-senders.ts configures it for IM_FCM_ADDRESS (keep-alive, at most 64 connections).
        httpAgent: new RedirectAgent({ host: '127.0.0.1', port: p.fcm.port }, { ca: p.fcm.ca }),
      });
    }
    return { pid: process.pid };
  },
  /**
   * Offers `rate` pushes/s for `durationMs` in batches of at most `batch` (each one sender.send call, as the notifier
   * hands a provider a page of pushes), at most `maxInFlight` pushes outstanding (more are shed and counted); waits
   * for every answer (at most `drainMs`). Latency per push: from its scheduled time to its outcome.
   */
  async drive(p: { rate: number; durationMs: number; batch: number; maxInFlight: number; drainMs: number }) {
    const s = sender;
    if (!s) throw new Error('setup first');
    const total = Math.floor((p.rate * p.durationMs) / 1000);
    const gap = 1000 / p.rate;
    const latency = new Histogram();
    const outcomes: Record<string, number> = {};
    let inFlight = 0;
    let shed = 0;
    let k = 0;
    let lastDoneAt = 0;
    const cpu0 = process.cpuUsage();
    const t0 = wallMs() + 5;
    const deadline = t0 + p.durationMs + 5_000;
    const pending = new Set<Promise<void>>();
    while (k < total && wallMs() < deadline) {
      const now = wallMs();
      const due = Math.min(total, Math.floor((now - t0) / gap) + 1);
      while (k < due) {
        const n = Math.min(p.batch, due - k);
        if (inFlight + n > p.maxInFlight) {
          shed += n;
          k += n;
          continue;
        }
        const intended = Array.from({ length: n }, (_, j) => t0 + (k + j) * gap);
        const batch = intended.map((_, j) => push(k + j));
        k += n;
        inFlight += n;
        const done = s.send(batch).then(
          (results) => {
            const at = wallMs();
            lastDoneAt = at;
            results.forEach((r, j) => {
              outcomes[r.kind] = (outcomes[r.kind] ?? 0) + 1;
              if (r.kind === 'sent') latency.record(at - intended[j]!);
            });
            inFlight -= n;
          },
          () => {
            outcomes.rejected = (outcomes.rejected ?? 0) + n;
            inFlight -= n;
          },
        );
        pending.add(done);
        void done.finally(() => pending.delete(done));
      }
      await sleep(1);
    }
    const offeredUntil = wallMs();
    const drained = await Promise.race([Promise.all(pending).then(() => true), sleep(p.drainMs).then(() => false)]);
    const cpu = process.cpuUsage(cpu0);
    return {
      planned: total,
      offered: k - shed,
      shed,
      outcomes,
      drained,
      startAt: t0,
      offeredUntil,
      lastDoneAt,
      latency: latency.summary(),
      cpuMs: (cpu.user + cpu.system) / 1000,
    };
  },
  /** This process's CPU profile (bench/lib/cpu-profile.ts). */
  profileStart: (p: { intervalUs: number }) => profiler.start(p),
  profileStop: (p: { top: number; saveTo?: string }) => profiler.stop(p),
  async close() {
    await sender?.close();
    sender = undefined;
    return {};
  },
};

export type PushSenderApi = typeof handlers;

serve(handlers);
