import type { Closeable } from '../lib/lifecycle.ts';
import type { Logger } from '../lib/logger.ts';

const DAY_MS = 24 * 3600 * 1000;

export interface RetentionOptions {
  /** Messages older than this many days leave the index, a whole month at a time (0: never). */
  days: number;
  /** Drops what was wholly before the cutoff (es-indices.ts `dropMonthsBefore`) and names what it dropped. */
  drop: (cutoffMs: number) => Promise<string[]>;
  log: Logger;
  /** How often (default hourly; a month ends once a month, an hour late is nothing). */
  everyMs?: number;
  now?: () => number;
}

/**
 * The index's retention: at start and then every `everyMs`, the months wholly older than `days` are dropped. Search
 * processes may all run it; dropping is idempotent. A failure is logged and tried again at the next round.
 */
export function startRetention(options: RetentionOptions): Closeable {
  const { days, drop, log } = options;
  if (days <= 0) return { close: () => Promise.resolve() };
  const now = options.now ?? Date.now;
  let round: Promise<void> = Promise.resolve();
  const trim = () => {
    round = drop(now() - days * DAY_MS).then(
      (dropped) => {
        if (dropped.length > 0) log.info({ dropped, days }, 'search months past retention dropped');
      },
      (err: unknown) => log.warn({ err }, 'search retention not applied; tried again at the next round'),
    );
  };
  trim();
  const timer = setInterval(trim, options.everyMs ?? 3_600_000);
  timer.unref();
  return {
    close: async () => {
      clearInterval(timer);
      await round;
    },
  };
}
