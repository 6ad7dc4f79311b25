// Idle connections spread over several gateway processes: as many as the open-file limit needs for the total
// (100,000 at the default size), every client pinging, held through more than two heartbeat intervals. The
// one-process steps (idle.ts) measure memory per connection; this shows the total actually held on this box.
import { mib, sleep } from '../lib/progress.ts';
import { round } from '../lib/result.ts';
import { openSpread, SOCKETS_PER_WORKER, startGatewayServer, startWorkers, stopAll, type Ctx } from '../lib/fleet.ts';

/** Connections per gateway process: under the ~20,000 open files a process may hold, with room for its own. */
export const CONNECTIONS_PER_GATEWAY = 15_000;
/** Mobile-like heartbeats for the spread hold: 100,000 clients at a 5 s interval would be 20,000 pings/s. */
export const SPREAD_HEARTBEAT_MS = 30_000;

export interface Spread {
  connections: number;
  gatewayProcesses: number;
  clientProcesses: number;
  heartbeatIntervalMs: number;
  opened: number;
  failed: number;
  errors: Record<string, number>;
  connectSec: number;
  connectPerSec: number;
  holdSec: number;
  held: number;
  dropped: number;
  pongs: number;
  perGateway: { connections: number; rssMiB: number }[];
  gatewayRssGiB: number;
}

export async function idleSpread(ctx: Ctx, total: number, heartbeatMs = SPREAD_HEARTBEAT_MS): Promise<Spread> {
  const gatewayCount = Math.max(2, Math.ceil(total / CONNECTIONS_PER_GATEWAY));
  const workerCount = Math.max(2, Math.ceil(total / SOCKETS_PER_WORKER));
  ctx.log(
    `spread: ${total} idle connections over ${gatewayCount} gateway processes (each under the open-file limit) ` +
      `from ${workerCount} client processes, heartbeats every ${heartbeatMs / 1000} s`,
  );
  const env = {
    IM_HEARTBEAT_INTERVAL_MS: String(heartbeatMs),
    IM_HEARTBEAT_TIMEOUT_MS: String(heartbeatMs * 3),
  };
  const gateways = await Promise.all(Array.from({ length: gatewayCount }, () => startGatewayServer(ctx, env)));
  const workers = startWorkers(ctx, workerCount);
  try {
    const users = Array.from({ length: total }, (_, i) => `${ctx.runId}m${i}`);
    // In chunks, so progress shows and one slow chunk does not hide the rest.
    const chunk = Math.max(1, Math.ceil(total / 10));
    let opened = 0;
    let failed = 0;
    const errors: Record<string, number> = {};
    const t0 = performance.now();
    for (let at = 0; at < total; at += chunk) {
      const r = await openSpread(ctx, workers, users.slice(at, at + chunk), {
        urls: gateways.map((g) => g.url),
        device: 'd',
        concurrency: 100,
        timeoutMs: 300_000,
        pingMs: heartbeatMs,
        already: Math.ceil(at / workerCount),
      });
      opened += r.opened;
      failed += r.failed;
      for (const [k, v] of Object.entries(r.errors)) errors[k] = (errors[k] ?? 0) + v;
      ctx.log(`spread: ${opened}/${total} open (${failed} failed), ${Math.round((performance.now() - t0) / 1000)} s`);
    }
    const connectSec = round((performance.now() - t0) / 1000, 1);
    const pongsBefore = (await Promise.all(workers.map((w) => w.call('stats', {})))).reduce((a, s) => a + s.pongs, 0);
    const holdMs = Math.round(heartbeatMs * 2.2);
    for (let waited = 0; waited < holdMs; waited += 30_000) {
      await sleep(Math.min(30_000, holdMs - waited));
      const open = (await Promise.all(workers.map((w) => w.call('stats', {})))).reduce((a, s) => a + s.open, 0);
      ctx.log(`spread: holding, ${Math.round(Math.min(holdMs, waited + 30_000) / 1000)} s: ${open} open`);
    }
    const after = await Promise.all(workers.map((w) => w.call('stats', {})));
    const held = after.reduce((a, s) => a + s.open, 0);
    const perGateway = await Promise.all(
      gateways.map(async (g) => {
        const m = await g.child.call('memory', { gc: true }, 120_000);
        return { connections: m.connections, rssMiB: mib(m.rss) };
      }),
    );
    const gatewayRssGiB = round(perGateway.reduce((a, g) => a + g.rssMiB, 0) / 1024, 2);
    ctx.log(
      `spread: held ${held} of ${opened} for ${holdMs / 1000} s on ${gatewayCount} gateways ` +
        `(${perGateway.map((g) => g.connections).join(', ')}), gateway RSS ${gatewayRssGiB} GiB in all`,
    );
    await Promise.all(workers.map((w) => w.call('closeAll', { timeoutMs: 30_000 }, 60_000)));
    return {
      connections: total,
      gatewayProcesses: gatewayCount,
      clientProcesses: workerCount,
      heartbeatIntervalMs: heartbeatMs,
      opened,
      failed,
      errors,
      connectSec,
      connectPerSec: Math.round(opened / connectSec),
      holdSec: holdMs / 1000,
      held,
      dropped: opened - held,
      pongs: after.reduce((a, s) => a + s.pongs, 0) - pongsBefore,
      perGateway,
      gatewayRssGiB,
    };
  } finally {
    await stopAll([...workers, ...gateways.map((g) => g.child)]);
  }
}
