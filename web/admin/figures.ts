import { sumOf, type Sample } from './prometheus.ts';

/** Outcomes of a mobile push (push/mobile/metrics.ts). */
export const PUSH_OUTCOMES = ['sent', 'dead-token', 'failed', 'dead-letter', 'no-provider'] as const;
export type PushOutcome = (typeof PUSH_OUTCOMES)[number];

/** The live figures between two reads of /metrics; a rate or lag is null on the first read (nothing to compare). */
export interface Figures {
  atMs: number;
  connections: number;
  messagesPerSec: number | null;
  noticesPerSec: number | null;
  pushesPerSec: Record<PushOutcome, number> | null;
  /** Mean time a chat message waited on the bus before logic took it, over the interval; null when none passed. */
  busLagMs: number | null;
}

/** The counters the figures come from, read at one moment. */
interface Reading {
  atMs: number;
  messages: number;
  notices: number;
  pushes: Record<PushOutcome, number>;
  busSum: number;
  busCount: number;
}

/**
 * Turns successive reads of /metrics into figures: gauges as they are, counters as rates over the interval.
 * Messages are the gateway's publishes of a send (`im_hop_seconds_count{hop="gateway.publish"}`), notices those
 * accepted (`im_notices_total{outcome="accepted"}`), bus lag the hop `bus.to_logic`. A counter that went down (the
 * server restarted) starts again rather than showing a negative rate.
 */
export class FigureSampler {
  private last: Reading | undefined;

  next(samples: readonly Sample[], atMs: number): Figures {
    const reading = readingOf(samples, atMs);
    const last = this.last;
    this.last = reading;
    const connections = sumOf(samples, 'im_gateway_connections');
    if (!last || reading.atMs <= last.atMs || restarted(last, reading)) {
      return { atMs, connections, messagesPerSec: null, noticesPerSec: null, pushesPerSec: null, busLagMs: null };
    }
    const seconds = (reading.atMs - last.atMs) / 1000;
    const rate = (now: number, before: number) => (now - before) / seconds;
    const pushesPerSec = Object.fromEntries(
      PUSH_OUTCOMES.map((o) => [o, rate(reading.pushes[o], last.pushes[o])]),
    ) as Record<PushOutcome, number>;
    const busCount = reading.busCount - last.busCount;
    return {
      atMs,
      connections,
      messagesPerSec: rate(reading.messages, last.messages),
      noticesPerSec: rate(reading.notices, last.notices),
      pushesPerSec,
      busLagMs: busCount > 0 ? ((reading.busSum - last.busSum) / busCount) * 1000 : null,
    };
  }
}

function readingOf(samples: readonly Sample[], atMs: number): Reading {
  const pushes = Object.fromEntries(
    PUSH_OUTCOMES.map((outcome) => [outcome, sumOf(samples, 'im_mobile_pushes_total', { outcome })]),
  ) as Record<PushOutcome, number>;
  return {
    atMs,
    messages: sumOf(samples, 'im_hop_seconds_count', { hop: 'gateway.publish' }),
    notices: sumOf(samples, 'im_notices_total', { outcome: 'accepted' }),
    pushes,
    busSum: sumOf(samples, 'im_hop_seconds_sum', { hop: 'bus.to_logic' }),
    busCount: sumOf(samples, 'im_hop_seconds_count', { hop: 'bus.to_logic' }),
  };
}

function restarted(before: Reading, now: Reading): boolean {
  return (
    now.messages < before.messages ||
    now.notices < before.notices ||
    now.busCount < before.busCount ||
    PUSH_OUTCOMES.some((o) => now.pushes[o] < before.pushes[o])
  );
}
