import type { ServerResponse } from 'node:http';
import { Histogram, Registry } from 'prom-client';

/** One registry per process (embedded mode: every service's hops in one place), served at GET /metrics. */
export const registry = new Registry();

/**
 * Where a message's time goes, hop by hop: `hop` names the service and the step (see docs/decisions/0011-*). The
 * latency benchmark reads the sums and counts before and after each load step and reports the mean per hop.
 */
export const hopSeconds = new Histogram({
  name: 'im_hop_seconds',
  help: 'Time a message spends in one hop of its path',
  labelNames: ['hop'] as const,
  buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5],
  registers: [registry],
});

/** Microseconds on a clock that processes on one machine share (for hops that cross a process). */
export function wallUs(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

/** Times the steps of one piece of work: each `lap(hop)` records the time since the previous lap (or the start). */
export interface Stopwatch {
  lap(hop: string): void;
}

export function stopwatch(): Stopwatch {
  let last = performance.now();
  return {
    lap(hop: string) {
      const now = performance.now();
      hopSeconds.observe({ hop }, (now - last) / 1000);
      last = now;
    },
  };
}

/** Records how long `work` takes from now, as `hop` (for steps that run alongside others). */
export async function timed<T>(hop: string, work: Promise<T>): Promise<T> {
  const start = performance.now();
  try {
    return await work;
  } finally {
    hopSeconds.observe({ hop }, (performance.now() - start) / 1000);
  }
}

export async function serveMetrics(res: ServerResponse): Promise<void> {
  const body = await registry.metrics();
  res.writeHead(200, { 'content-type': registry.contentType }).end(body);
}
