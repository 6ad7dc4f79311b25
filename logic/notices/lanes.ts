import type { NoticePriority } from './notice-store.ts';

type Task = () => Promise<void>;

const LANES: readonly NoticePriority[] = ['high', 'normal', 'low'];

/**
 * Work in three lanes by priority: whenever a slot frees, the next task comes from the highest lane that has one
 * and is under its own cap. A big notice is cut into many small tasks (a chunk of recipients each), so a
 * high-priority notice accepted while a low one is being written waits for at most the chunks already running,
 * never for the whole audience; and the low lane holds few slots at once (its caps), so those are few too.
 */
export class Lanes {
  private readonly queues: Record<NoticePriority, Task[]> = { high: [], normal: [], low: [] };
  private readonly runningIn: Record<NoticePriority, number> = { high: 0, normal: 0, low: 0 };
  private running = 0;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly concurrency: number,
    private readonly onError: (err: unknown) => void,
    /** At most this many tasks of a lane at once (default: `concurrency`). */
    private readonly caps: Partial<Record<NoticePriority, number>> = {},
  ) {}

  /** Queues `task` in `lane`; the promise settles with the task. */
  run<T>(lane: NoticePriority, task: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queues[lane].push(() => task().then(resolve, reject));
      this.pump();
    });
  }

  /** Tasks waiting per lane (a gauge for /metrics). */
  waiting(): Record<NoticePriority, number> {
    return { high: this.queues.high.length, normal: this.queues.normal.length, low: this.queues.low.length };
  }

  /** Resolves once nothing runs or waits. */
  idle(): Promise<void> {
    if (this.running === 0 && this.size() === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private size(): number {
    return this.queues.high.length + this.queues.normal.length + this.queues.low.length;
  }

  /** The highest lane with a task waiting and a slot of its own free. */
  private next(): NoticePriority | undefined {
    return LANES.find(
      (lane) => this.queues[lane].length > 0 && this.runningIn[lane] < (this.caps[lane] ?? this.concurrency),
    );
  }

  private pump(): void {
    for (let lane = this.next(); this.running < this.concurrency && lane; lane = this.next()) {
      const task = this.queues[lane].shift()!;
      this.running++;
      this.runningIn[lane]++;
      const done = lane;
      // Each task starts on a turn of its own: stores that answer at once (memory) would otherwise chain every
      // queued task in microtasks, and a request arriving meanwhile (a high-priority notice) would wait for all.
      new Promise<void>((resolve) => setImmediate(resolve))
        .then(task)
        .catch(this.onError)
        .finally(() => {
          this.running--;
          this.runningIn[done]--;
          this.pump();
          if (this.running === 0 && this.size() === 0) {
            for (const wake of this.idleWaiters.splice(0)) wake();
          }
        });
    }
  }
}
