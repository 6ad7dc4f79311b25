/** A mute that lasts until the user unmutes: `set(user, conversation, MUTED_FOREVER)`. */
export const MUTED_FOREVER = Number.MAX_SAFE_INTEGER;

/** One user's mute of one conversation, as `ofUser` lists it. */
export interface Mute {
  conversation: string;
  /** Muted while `untilMs > nowMs` (ms since the epoch); MUTED_FOREVER: until unmuted. */
  untilMs: number;
}

/**
 * Which conversations each user muted (port), and until when (issue 21: a muted conversation's messages get no
 * visible mobile push alert). A per-user setting, not per device: every device of the user sees the same mutes.
 * - `set(user, conversation, untilMs)` mutes until `untilMs` (ms since the epoch; Number.MAX_SAFE_INTEGER: until unmuted); `untilMs` 0 unmutes (removes).
 * - `mutedOf(pairs)` answers, for each (user, conversation) asked, whether it is muted at `nowMs` (untilMs > nowMs), in order: one call for a whole batch of pushes.
 * - `ofUser(user, nowMs)` lists the user's muted conversations with their untilMs, sorted by conversation.
 *
 * A `set` replaces the pair's previous mute, whatever it was (a shorter mute shortens it); the last write wins. A
 * mute whose time has passed counts as none: `mutedOf` says false and `ofUser` leaves it out (a store may keep its
 * row). The caller checks `untilMs` (0, or a positive safe integer); a store keeps what it is given. Conversations
 * sort in JS string order (`byConversation`), whatever order a store keeps them in; every Mute returned is the
 * caller's own.
 */
export interface MuteStore {
  set(user: string, conversation: string, untilMs: number): Promise<void>;
  mutedOf(pairs: readonly { user: string; conversation: string }[], nowMs: number): Promise<boolean[]>;
  ofUser(user: string, nowMs: number): Promise<Mute[]>;
}

/** The order of a user's mutes: by conversation, in JS string order (what every adapter returns). */
export function byConversation(a: Mute, b: Mute): number {
  return a.conversation < b.conversation ? -1 : a.conversation > b.conversation ? 1 : 0;
}
