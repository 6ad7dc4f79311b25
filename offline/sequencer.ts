/**
 * Per-inbox sequence allocation (port).
 *
 * - `allocate` returns, for each user in order, a seq strictly greater than any seq that user ever got, even
 *   across restarts of the backing store (gaps are allowed, reuse never is).
 * - An allocated seq is "in flight" until `complete` is called for it (after its inbox row is written) or until
 *   `inFlightTtlMs` passes (the writer died; the seq becomes a gap).
 * - `lowestInFlight` lets readers stop before a seq that may still be written, so a reader never moves a
 *   cursor past a message that appears later.
 * - `epoch` changes only when sequence state had to be rebuilt.
 */
export interface Sequencer {
  allocate(users: readonly string[]): Promise<number[]>;
  complete(entries: readonly { user: string; seq: number }[]): Promise<void>;
  lowestInFlight(user: string): Promise<number | undefined>;
  /**
   * A seq at or above every seq `allocate` has handed `user`, and equal to the last one while the user has had one
   * in the current term; undefined while unknown (sequence state being rebuilt). No inbox row of the user has a
   * seq above it, so a reader need not look there.
   */
  head(user: string): Promise<number | undefined>;
  epoch(): Promise<number>;
}
