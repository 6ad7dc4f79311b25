import type { PushJob } from '../../proto/gen/im/v1/bus.pb.ts';
import type { Logger } from '../../lib/logger.ts';

/** Jobs handled per call of the notifier: one token lookup, one route lookup and one batch per provider each. */
const BATCH = 500;

/**
 * Embedded mode's queue of push jobs: the send path hands jobs over without waiting, and they are handled in order,
 * a batch at a time. Bounded: past `maxQueued` the oldest are dropped (a push is an accelerator; the inbox is the
 * truth). Cluster mode puts the jobs on the `push_jobs` topic instead, so a crashed push process loses none.
 */
export class PushJobQueue {
  private readonly jobs: PushJob[] = [];
  private draining: Promise<void> | undefined;

  constructor(
    private readonly handle: (jobs: PushJob[]) => Promise<void>,
    private readonly log: Logger,
    private readonly maxQueued = 100_000,
  ) {}

  add(jobs: readonly PushJob[]): Promise<void> {
    this.jobs.push(...jobs);
    const excess = this.jobs.length - this.maxQueued;
    if (excess > 0) {
      this.jobs.splice(0, excess);
      this.log.warn({ dropped: excess }, 'mobile push queue full: oldest jobs dropped');
    }
    this.draining ??= this.drain().finally(() => (this.draining = undefined));
    return Promise.resolve();
  }

  /** Resolves once every job queued so far is handled. */
  async idle(): Promise<void> {
    while (this.draining) await this.draining;
  }

  private async drain(): Promise<void> {
    while (this.jobs.length > 0) {
      const batch = this.jobs.splice(0, BATCH);
      await this.handle(batch).catch((err: unknown) => this.log.warn({ err }, 'mobile push jobs failed'));
    }
  }
}
