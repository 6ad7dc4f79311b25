import type { MobilePush } from './push-sender.ts';

/** A push the provider would not take after every try, kept for an operator to look at and send again. */
export interface DeadLetter {
  /** The push's id (its apns-id): unique. */
  id: string;
  user: string;
  device: string;
  push: MobilePush;
  reason: string;
  attempts: number;
  atMs: number;
}

/**
 * Dead letters of mobile pushes (port), bounded: past `capacity` the oldest go.
 *
 * - `add` keeps a dead letter (one with the same id replaces it).
 * - `list(after, limit)` pages them by id ascending (ids strictly after `after`); `next` when more follow.
 * - `take(ids)` removes and returns those that are kept (for a replay: each is sent again once).
 */
export interface DeadLetterStore {
  add(letter: DeadLetter): Promise<void>;
  list(after: string, limit: number): Promise<{ items: DeadLetter[]; next?: string }>;
  take(ids: readonly string[]): Promise<DeadLetter[]>;
}
