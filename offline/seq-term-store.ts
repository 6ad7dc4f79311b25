/**
 * The durable part of sequence allocation (port). Fast counters live in Redis; what must survive Redis losing
 * them lives here. A seq is `term * 2^32 + counter`: when the counters are lost, the term moves forward, so every
 * seq handed out afterwards is greater than any handed out before. Seqs stay comparable across terms, so clients'
 * sync_keys stay valid.
 *
 * - `generation` identifies the inbox data itself; it changes only if that data is recreated from nothing (the
 *   sync_key epoch).
 * - `advance(seen)` moves the term past `seen` with a compare-and-set and returns the term now current, which is
 *   greater than `seen`; concurrent callers that saw the same term end on the same new term.
 * - `markUsed(term)` records that seqs of `term` were handed out; `lastUsed` is the highest term so marked (0 if
 *   none). After a loss, readers need holding back only if seqs were ever handed out: a fresh deployment starts
 *   without a pause.
 */
export interface SeqTermStore {
  generation(): Promise<number>;
  current(): Promise<number>;
  advance(seen: number): Promise<number>;
  markUsed(term: number): Promise<void>;
  lastUsed(): Promise<number>;
}

export const TERM_SHIFT = 2 ** 32;
