import { createRequire } from 'node:module';

/**
 * kafkajs 2.2.4 (its last release) re-arms a timer of about 1 ms after every request when nothing waits
 * (tulios/kafkajs#1556, fix proposed in #1667 but never released): every connection to a broker spins while
 * idle, about 5% of a core per process here. Patched like #1667: a check is scheduled only while requests wait
 * (every request that waits is added by `push`, which schedules one; every answer checks the queue anyway).
 * Decision 0016.
 */
interface RequestQueueInternals {
  pending: unknown[];
  throttledUntil: number;
  throttleCheckTimeoutId: ReturnType<typeof setTimeout> | null;
  checkPendingRequests(): void;
  scheduleCheckPendingRequests(): void;
}

/** kafkajs's own interval between checks while requests wait (CHECK_PENDING_REQUESTS_INTERVAL). */
const CHECK_INTERVAL_MS = 10;

export function scheduleCheckPendingRequests(this: RequestQueueInternals): void {
  if (this.throttleCheckTimeoutId || this.pending.length === 0) return;
  const untilUnthrottled = this.throttledUntil - Date.now();
  this.throttleCheckTimeoutId = setTimeout(
    () => {
      this.throttleCheckTimeoutId = null;
      this.checkPendingRequests();
    },
    untilUnthrottled > 0 ? untilUnthrottled : CHECK_INTERVAL_MS,
  );
}

const RequestQueue = createRequire(import.meta.url)('kafkajs/src/network/requestQueue/index.js') as {
  prototype: RequestQueueInternals;
};
if (typeof RequestQueue.prototype.scheduleCheckPendingRequests !== 'function') {
  throw new Error('kafkajs: RequestQueue.scheduleCheckPendingRequests not found; review lib/kafkajs-idle-fix.ts');
}
RequestQueue.prototype.scheduleCheckPendingRequests = scheduleCheckPendingRequests;
