/**
 * Seqs handed out and not yet written, per user, each until its deadline: what an in-process sequencer keeps so a
 * reader stops below a seq that may still be written (Sequencer.lowestInFlight). A seq past its deadline is a gap.
 */
export class InFlightSeqs {
  /** user -> seq -> deadline (ms) */
  private readonly pending = new Map<string, Map<number, number>>();

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number,
  ) {}

  /** `seqs[i]` handed to `users[i]`, in flight from now. */
  add(users: readonly string[], seqs: readonly number[]): void {
    const deadline = this.now() + this.ttlMs;
    users.forEach((user, i) => {
      let mine = this.pending.get(user);
      if (!mine) this.pending.set(user, (mine = new Map<number, number>()));
      mine.set(seqs[i]!, deadline);
    });
  }

  complete(entries: readonly { user: string; seq: number }[]): void {
    for (const { user, seq } of entries) {
      const mine = this.pending.get(user);
      mine?.delete(seq);
      if (mine?.size === 0) this.pending.delete(user);
    }
  }

  lowest(user: string): number | undefined {
    const mine = this.pending.get(user);
    if (!mine) return undefined;
    const now = this.now();
    let lowest: number | undefined;
    for (const [seq, deadline] of mine) {
      if (deadline <= now) mine.delete(seq);
      else if (lowest === undefined || seq < lowest) lowest = seq;
    }
    if (mine.size === 0) this.pending.delete(user);
    return lowest;
  }
}
