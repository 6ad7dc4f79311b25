import pLimit, { type LimitFunction } from 'p-limit';
import { Counter, Gauge } from 'prom-client';
import { ImError } from './errors.ts';
import { registry } from './metrics.ts';

export interface AdmissionOptions {
  /** Calls in flight at most; the rest wait in arrival order. */
  concurrency: number;
  /** A call that would wait longer than this, at the pace calls have been finishing, is refused at once. */
  maxWaitMs: number;
}

const refused = new Counter({
  name: 'im_admission_refused_total',
  help: 'Calls refused at once (UNAVAILABLE with a retry hint) because they would have waited too long',
  labelNames: ['gate'] as const,
  registers: [registry],
});
const waiting = new Gauge({
  name: 'im_admission_waiting',
  help: 'Calls waiting for a slot',
  labelNames: ['gate'] as const,
  registers: [registry],
});

const MIN_RETRY_MS = 250;
const MAX_RETRY_MS = 30_000;

/**
 * Bounded work under overload (docs/decisions/0014). A burst of expensive calls (10,000 devices reconnecting and
 * syncing at once) must not become 10,000 calls in flight: each would slow every other until clients time out and
 * retry, and the work done for a client that gave up is lost, so throughput collapses exactly when it is needed.
 * Instead `concurrency` calls run, the rest wait in order, a call whose client has gone is dropped unrun, and a
 * call that would wait more than `maxWaitMs` is refused at once with a hint of when to come back.
 */
export class Admission {
  private readonly limit: LimitFunction;
  /** Mean run time of recent calls (exponentially weighted), the pace the wait is estimated from. */
  private meanRunMs = 10;

  constructor(
    private readonly gate: string,
    private readonly options: AdmissionOptions,
  ) {
    this.limit = pLimit(options.concurrency);
  }

  /** How long a call arriving now would wait for a slot, by the recent pace. */
  expectedWaitMs(): number {
    return (this.limit.pendingCount * this.meanRunMs) / this.options.concurrency;
  }

  /** Throws UNAVAILABLE with `retryAfterMs` if a call arriving now would wait more than `maxWaitMs`. */
  refuseIfBusy(): void {
    const wait = this.expectedWaitMs();
    if (wait <= this.options.maxWaitMs) return;
    refused.inc({ gate: this.gate });
    // Back around the time the calls waiting now are done, spread over half a wait either side so the refused do
    // not return as one. Not later: the queue drains in about `wait`, and a slot left idle is lost for good, while
    // coming back a little early costs one more refusal (no token check, no stack trace).
    const retryAfterMs = Math.round(Math.min(MAX_RETRY_MS, Math.max(MIN_RETRY_MS, wait * (0.5 + Math.random()))));
    throw busy(`server busy (${this.gate}): retry in ${retryAfterMs} ms`, retryAfterMs);
  }

  /** Runs `work` when a slot is free; if `wanted()` is false by then (the client left), it is dropped unrun. */
  run<T>(work: () => Promise<T>, wanted: () => boolean = () => true): Promise<T> {
    waiting.inc({ gate: this.gate });
    return this.limit(async () => {
      waiting.dec({ gate: this.gate });
      if (!wanted()) throw busy('the client left before its turn');
      const start = performance.now();
      try {
        return await work();
      } finally {
        this.meanRunMs += 0.05 * (performance.now() - start - this.meanRunMs);
      }
    });
  }

  /** `refuseIfBusy`, then `run` (a refusal is a rejected promise, like any other failure of the call). */
  async admit<T>(work: () => Promise<T>, wanted?: () => boolean): Promise<T> {
    this.refuseIfBusy();
    return this.run(work, wanted);
  }
}

/**
 * UNAVAILABLE without a stack trace: under overload refusals come by the thousand a second, and capturing a stack
 * (the dearest part of an Error) for an expected answer was a tenth of a gateway's CPU in the storm benchmark.
 */
function busy(message: string, retryAfterMs?: number): ImError {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return new ImError('UNAVAILABLE', message, retryAfterMs === undefined ? {} : { retryAfterMs });
  } finally {
    Error.stackTraceLimit = limit;
  }
}
