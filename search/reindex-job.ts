import type { Logger } from '../lib/logger.ts';
import type { ReindexCounts } from './reindex.ts';

export type ReindexState = 'idle' | 'running' | 'done' | 'failed';

/** Where the last (or the running) reindex is, as `imctl search reindex` shows it. */
export interface ReindexStatus {
  state: ReindexState;
  scanned: number;
  applied: number;
  startedAtMs: number;
  finishedAtMs: number;
  error: string;
}

/**
 * The reindex of a search process, one at a time: `start` begins one unless one is running, and answers at once
 * (a whole store takes minutes); `status` tells how far it got. What it runs is given (the stores it scans and the
 * index it applies to differ by mode).
 */
/** The operator's control of the index: the reindex job, wherever it runs (in process, or the search process). */
export interface ReindexApi {
  startReindex(): Promise<{ started: boolean; status: ReindexStatus }>;
  getReindex(): Promise<ReindexStatus>;
}

export class ReindexJob implements ReindexApi {
  private current: ReindexStatus = {
    state: 'idle',
    scanned: 0,
    applied: 0,
    startedAtMs: 0,
    finishedAtMs: 0,
    error: '',
  };
  private running: Promise<void> | undefined;
  private readonly stopping = new AbortController();

  constructor(
    private readonly run: (onProgress: (counts: ReindexCounts) => void, signal: AbortSignal) => Promise<ReindexCounts>,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** Starts a reindex; `started` is false when one was already running (its status is returned). */
  startReindex(): Promise<{ started: boolean; status: ReindexStatus }> {
    if (this.running) return Promise.resolve({ started: false, status: this.status() });
    const startedAtMs = this.now();
    this.current = { state: 'running', scanned: 0, applied: 0, startedAtMs, finishedAtMs: 0, error: '' };
    this.log.info('search reindex started');
    this.running = this.run((counts) => Object.assign(this.current, counts), this.stopping.signal).then(
      (counts) => this.finish({ ...counts, state: 'done' }),
      (err: unknown) => {
        this.log.error({ err }, 'search reindex failed');
        this.finish({ state: 'failed', error: err instanceof Error ? err.message : String(err) });
      },
    );
    return Promise.resolve({ started: true, status: this.status() });
  }

  getReindex(): Promise<ReindexStatus> {
    return Promise.resolve(this.status());
  }

  private status(): ReindexStatus {
    return { ...this.current };
  }

  /** Stops a running reindex after its current batch (what it applied stays: a reindex can be run again). */
  async close(): Promise<void> {
    this.stopping.abort(new Error('the search process is stopping'));
    await this.running;
  }

  private finish(change: Partial<ReindexStatus>): void {
    Object.assign(this.current, change, { finishedAtMs: this.now() });
    this.running = undefined;
    this.log.info({ ...this.current }, 'search reindex ended');
  }
}
