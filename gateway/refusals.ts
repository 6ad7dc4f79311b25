import { Counter } from 'prom-client';
import type { Logger } from '../lib/logger.ts';
import type { Connection } from './connection.ts';
import { registry } from '../lib/metrics.ts';

/** Why the gateway turned a client away or cut it off: the `reason` label of im_gateway_refusals_total. */
export type RefusalReason =
  | 'auth'
  | 'origin'
  | 'busy'
  | 'draining'
  | 'bad_request'
  | 'user_connections'
  | 'user_syncs'
  | 'rate_limited'
  | 'text_frame'
  | 'too_large'
  | 'bad_frame'
  | 'frame_over_hard_limit'
  | 'refused_too_often'
  | 'slow_consumer';

const refusals = new Counter({
  name: 'im_gateway_refusals_total',
  help: 'Handshakes refused, frames refused and connections cut off by the gateway, by reason',
  labelNames: ['reason'] as const,
  registers: [registry],
});

/** Log lines per reason per window at most; the rest are counted and summed up in the next line that goes out. */
const LINES_PER_WINDOW = 10;
const WINDOW_MS = 10_000;

/** Who was refused, as far as the gateway knows: never the token, never a URL that may carry one. */
export interface Refused {
  user?: string;
  device?: string;
  connId?: string;
  code?: string;
  detail?: string;
}

/**
 * Refusals, visible to operators: every one is counted in /metrics, and logged at warn with its user, device and
 * reason, at most LINES_PER_WINDOW lines per reason per WINDOW_MS, so a flood cannot flood the log too.
 */
export class Refusals {
  private readonly windows = new Map<RefusalReason, { endMs: number; logged: number; suppressed: number }>();

  constructor(private readonly log: Logger) {}

  /** A refusal of something a connection sent or did: who it is comes from the connection. */
  recordFor(reason: RefusalReason, conn: Connection): void {
    this.record(reason, { user: conn.user, device: conn.device, connId: conn.connId });
  }

  record(reason: RefusalReason, who: Refused = {}): void {
    refusals.inc({ reason });
    const now = Date.now();
    let w = this.windows.get(reason);
    if (!w || now >= w.endMs) {
      const suppressed = w?.suppressed ?? 0;
      this.windows.set(reason, (w = { endMs: now + WINDOW_MS, logged: 0, suppressed: 0 }));
      if (suppressed > 0) this.log.warn({ reason, suppressed }, 'refusals not logged in the last window');
    }
    if (w.logged >= LINES_PER_WINDOW) {
      w.suppressed++;
      return;
    }
    w.logged++;
    this.log.warn({ reason, ...who }, 'refused');
  }
}
