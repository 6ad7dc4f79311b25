import type { Sequencer } from './sequencer.ts';

/** In-process sequencer: counters live as long as the process, so the epoch is chosen anew at every start. */
export class MemorySequencer implements Sequencer {
  private readonly last = new Map<string, number>();
  /** user -> seq -> deadline (ms) */
  private readonly inFlight = new Map<string, Map<number, number>>();
  private readonly startedEpoch: number;

  constructor(
    private readonly inFlightTtlMs = 30_000,
    private readonly now: () => number = Date.now,
  ) {
    this.startedEpoch = now();
  }

  allocate(users: readonly string[]): Promise<number[]> {
    const deadline = this.now() + this.inFlightTtlMs;
    return Promise.resolve(
      users.map((user) => {
        const seq = (this.last.get(user) ?? 0) + 1;
        this.last.set(user, seq);
        let pending = this.inFlight.get(user);
        if (!pending) this.inFlight.set(user, (pending = new Map<number, number>()));
        pending.set(seq, deadline);
        return seq;
      }),
    );
  }

  complete(entries: readonly { user: string; seq: number }[]): Promise<void> {
    for (const { user, seq } of entries) {
      const pending = this.inFlight.get(user);
      pending?.delete(seq);
      if (pending?.size === 0) this.inFlight.delete(user);
    }
    return Promise.resolve();
  }

  lowestInFlight(user: string): Promise<number | undefined> {
    const pending = this.inFlight.get(user);
    if (!pending) return Promise.resolve(undefined);
    const now = this.now();
    let lowest: number | undefined;
    for (const [seq, deadline] of pending) {
      if (deadline <= now) pending.delete(seq);
      else if (lowest === undefined || seq < lowest) lowest = seq;
    }
    return Promise.resolve(lowest);
  }

  head(user: string): Promise<number | undefined> {
    return Promise.resolve(this.last.get(user) ?? 0);
  }

  epoch(): Promise<number> {
    return Promise.resolve(this.startedEpoch);
  }
}
