import { InFlightSeqs } from './in-flight-seqs.ts';
import type { Sequencer } from './sequencer.ts';

/** In-process sequencer: counters live as long as the process, so the epoch is chosen anew at every start. */
export class MemorySequencer implements Sequencer {
  private readonly last = new Map<string, number>();
  private readonly inFlight: InFlightSeqs;
  private readonly startedEpoch: number;

  constructor(inFlightTtlMs = 30_000, now: () => number = Date.now) {
    this.startedEpoch = now();
    this.inFlight = new InFlightSeqs(inFlightTtlMs, now);
  }

  allocate(users: readonly string[]): Promise<number[]> {
    const seqs = users.map((user) => {
      const seq = (this.last.get(user) ?? 0) + 1;
      this.last.set(user, seq);
      return seq;
    });
    this.inFlight.add(users, seqs);
    return Promise.resolve(seqs);
  }

  complete(entries: readonly { user: string; seq: number }[]): Promise<void> {
    this.inFlight.complete(entries);
    return Promise.resolve();
  }

  lowestInFlight(user: string): Promise<number | undefined> {
    return Promise.resolve(this.inFlight.lowest(user));
  }

  head(user: string): Promise<number | undefined> {
    return Promise.resolve(this.last.get(user) ?? 0);
  }

  epoch(): Promise<number> {
    return Promise.resolve(this.startedEpoch);
  }
}
