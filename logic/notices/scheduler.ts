import { randomBytes } from 'node:crypto';
import type { Logger } from '../../lib/logger.ts';
import type { Firing } from './firing.ts';
import type { NoticeRecord, NoticeStore } from './notice-store.ts';

export interface SchedulerOptions {
  /** How often due and expiring notices are looked for: a scheduled notice fires within about this long. */
  pollMs: number;
  /** How long a claim holds without renewal: a firing process that died is replaced after this. */
  leaseMs: number;
  /** Notices taken per look. */
  batch: number;
}

export const DEFAULT_SCHEDULER: Readonly<SchedulerOptions> = { pollMs: 250, leaseMs: 30_000, batch: 100 };

/**
 * Fires notices at their time, once, whichever of several logic processes sees them first: each firing is claimed
 * in the store (atomic), renewed while it runs, and picked up again by any process once a claim lapses (its holder
 * died), where the firing's own records make the repeat write the same rows. Expiry runs on the same beat.
 */
export class NoticeScheduler {
  /** This process's claims carry this name. */
  readonly owner = `${process.pid}-${randomBytes(6).toString('hex')}`;
  private readonly running = new Map<string, Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private ticking = false;

  constructor(
    private readonly deps: {
      store: NoticeStore;
      firing: () => Firing;
      log: Logger;
      now: () => number;
      options: SchedulerOptions;
    },
  ) {}

  start(): void {
    this.timer ??= setInterval(() => void this.tick(), this.deps.options.pollMs);
    this.timer.unref();
  }

  /** Fires a due notice now (the API calls it for a notice without deliver_at), unless this process already is. */
  fireNow(record: NoticeRecord): void {
    if (this.running.has(record.id)) return;
    const run = this.claimAndFire(record)
      .catch((err: unknown) => this.deps.log.warn({ err, notice: record.id }, 'notice firing failed; retried later'))
      .finally(() => this.running.delete(record.id));
    this.running.set(record.id, run);
  }

  /** The claim of a notice this process creates already firing (one sent for now): owner and until when. */
  claimForNew(nowMs: number): { claimOwner: string; claimUntilMs: number } {
    return { claimOwner: this.owner, claimUntilMs: nowMs + this.deps.options.leaseMs };
  }

  /** Fires a notice this process created already claimed (claimForNew): no claim to make, no chunks to look up. */
  fireClaimed(record: NoticeRecord): void {
    if (this.running.has(record.id)) return;
    const run = this.deps
      .firing()
      .fire(record, true)
      .catch((err: unknown) => this.deps.log.warn({ err, notice: record.id }, 'notice firing failed; retried later'))
      .finally(() => this.running.delete(record.id));
    this.running.set(record.id, run);
  }

  /** Keeps this process's claim on a firing alive; false if the notice is no longer this process's to fire. */
  async renew(record: NoticeRecord): Promise<boolean> {
    const now = this.deps.now();
    return (await this.deps.store.claim(record.id, this.owner, now, now + this.deps.options.leaseMs)) !== undefined;
  }

  /** One look for due and expiring notices. */
  async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      const { store, now, options } = this.deps;
      for (const record of await store.due(now(), options.batch)) this.fireNow(record);
      for (const record of await store.expiring(now(), options.batch)) {
        if (!this.running.has(record.id)) await this.deps.firing().expire(record);
      }
    } catch (err) {
      this.deps.log.warn({ err }, 'notice scheduler: a look failed; trying again');
    } finally {
      this.ticking = false;
    }
  }

  private async claimAndFire(record: NoticeRecord): Promise<void> {
    const now = this.deps.now();
    const claimed = await this.deps.store.claim(record.id, this.owner, now, now + this.deps.options.leaseMs);
    if (claimed) await this.deps.firing().fire(claimed);
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await Promise.allSettled([...this.running.values()]);
  }
}
