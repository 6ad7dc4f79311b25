// The system under test in embedded mode, in its own process: startEmbedded (configured by the IM_* variables
// the runner sets) plus what only a bench needs, over IPC: the process's memory (after a full GC when started
// with --expose-gc) and CPU, and a fan-out driver that hands one pre-encoded Deliver frame to the gateway's
// Deliver API for many connections, as push does; a CPU profile of a stretch of the run (node:inspector),
// summarized; the notice service's counters.
import { startEmbedded } from '../../app/embedded.ts';
import { loadConfig } from '../../lib/config.ts';
import { createLogger } from '../../lib/logger.ts';
import { noticesTotal } from '../../logic/notices/metrics.ts';
import { encodeDeliver } from '../../push/index.ts';
import { selfProfiler } from '../lib/cpu-profile.ts';
import { LoopDelay, ProcessCpu } from '../lib/machine.ts';
import { wallMs } from '../lib/progress.ts';
import { serve } from '../lib/rpc.ts';
import { benchMessage, gcAndMeasure } from './common.ts';

const im = await startEmbedded(loadConfig(), createLogger(process.env.IM_LOG_LEVEL ?? 'warn'));
const cpu = new ProcessCpu();
const loopDelay = new LoopDelay();
const profiler = selfProfiler();

const handlers = {
  loopDelay() {
    return loopDelay.sample();
  },
  info() {
    return { url: im.gateway.url, port: im.gateway.port, pid: process.pid };
  },
  memory(p: { gc: boolean }) {
    return { ...gcAndMeasure(p.gc), connections: im.gateway.connectionCount(), cpu: cpu.sample() };
  },
  cpu() {
    return cpu.sample();
  },
  /** CPU time this process has used since it started (user + system), in ms. */
  cpuTimeMs() {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  },
  stats() {
    return im.gateway.stats();
  },
  /** Notices by outcome (accepted, sent, refused, ...) since the start, summed over apps and priorities. */
  async notices() {
    const byOutcome: Record<string, number> = {};
    for (const v of (await noticesTotal.get()).values) {
      const outcome = String(v.labels.outcome ?? '');
      byOutcome[outcome] = (byOutcome[outcome] ?? 0) + v.value;
    }
    return byOutcome;
  },
  /** This process's CPU profile (bench/lib/cpu-profile.ts). */
  profileStart: (p: { intervalUs: number }) => profiler.start(p),
  profileStop: (p: { top: number; saveTo?: string }) => profiler.stop(p),
  /** `rounds` Deliver calls, each handing the same pre-encoded frame to every connection; `burst` rounds per tick. */
  async fanout(p: { connIds: string[]; rounds: number; bytes: number; burst: number }) {
    const frame = encodeDeliver([benchMessage(p.bytes)]);
    const request = { items: [{ connIds: p.connIds, frame, ifRoom: false }], rooms: [] };
    cpu.sample();
    const startAt = wallMs();
    let delivered = 0;
    for (let r = 0; r < p.rounds; r++) {
      delivered += (await im.gateway.api.deliver(request)).delivered;
      if ((r + 1) % p.burst === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    return { startAt, endAt: wallMs(), delivered, frameBytes: frame.length, cpu: cpu.sample() };
  },
};

export type GatewayServerApi = typeof handlers;

serve(handlers);
