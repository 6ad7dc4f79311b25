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
 * Dead letters of mobile pushes (port), bounded: past `capacity` (DEFAULT_DEAD_LETTER_CAPACITY unless the adapter is
 * given another) the oldest go.
 *
 * - `add` keeps a dead letter (one with the same id replaces it, every field). Then, while more than `capacity` are
 *   kept, the oldest is dropped: the one first by `atMs`, ties by id (`byAge`), however recently it was added. So a
 *   replaced letter counts by its new `atMs`, and a letter older than every kept one, added to a full store, is
 *   itself the one dropped. (On Cassandra the bound holds for one process's adds; several processes adding at once
 *   may leave a few too many until the next add: see its notes.)
 * - `list(after, limit)` pages them by id ascending (ids strictly after `after`; '' for the first page; `limit` ≥ 1);
 *   `next` (the last id of the page) when more follow.
 * - `take(ids)` removes and returns those that are kept, in the order asked, each once (for a replay: each is sent
 *   again once); unknown ids are ignored. Two takes of one letter at the same moment: one gets it, except on
 *   Cassandra, where both may (the push is then sent twice, under one collapse id), and neither loses it.
 *
 * Ids order by their UTF-8 bytes (`compareIds`: what SQLite and Cassandra sort text by; the same as JS string order
 * for ids without characters beyond U+FFFF, such as the UUIDs pushes carry). The push round-trips whole: its
 * optional `alert` and `sound` are absent from what a store returns exactly when they were absent (or undefined) in
 * what it was given. Every letter a store returns is the caller's own copy, and `add` keeps none of the caller's
 * objects.
 */
export interface DeadLetterStore {
  add(letter: DeadLetter): Promise<void>;
  list(after: string, limit: number): Promise<{ items: DeadLetter[]; next?: string }>;
  take(ids: readonly string[]): Promise<DeadLetter[]>;
}

/** How many dead letters a store keeps unless told otherwise. */
export const DEFAULT_DEAD_LETTER_CAPACITY = 10_000;

/** Two ids in the order of their UTF-8 bytes (code point order), which is how SQLite and Cassandra compare text. */
export function compareIds(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

/**
 * A UTF-16 unit ranked in code point order: surrogates (halves of code points beyond U+FFFF) after U+E000–U+FFFF,
 * which come before them in JS's own order.
 */
function codePointRank(unit: number): number {
  return unit < 0xd800 ? unit : unit >= 0xe000 ? unit - 0x800 : unit + 0x2000;
}

/** The order in which dead letters are dropped past capacity: oldest `atMs` first, ties by id. */
export function byAge(a: Pick<DeadLetter, 'atMs' | 'id'>, b: Pick<DeadLetter, 'atMs' | 'id'>): number {
  return a.atMs - b.atMs || compareIds(a.id, b.id);
}

/** A push's own copy, its optional fields present only when set. */
export function copyPush(push: MobilePush): MobilePush {
  return {
    id: push.id,
    target: {
      platform: push.target.platform,
      token: push.target.token,
      topic: push.target.topic,
      environment: push.target.environment,
    },
    ...(push.alert !== undefined ? { alert: { title: push.alert.title, body: push.alert.body } } : {}),
    badge: push.badge,
    collapseId: push.collapseId,
    priority: push.priority,
    expireAtMs: push.expireAtMs,
    data: { ...push.data },
    ...(push.sound !== undefined ? { sound: push.sound } : {}),
  };
}

/** A dead letter's own copy (its push copied by `copyPush`). */
export function copyDeadLetter(letter: DeadLetter): DeadLetter {
  return {
    id: letter.id,
    user: letter.user,
    device: letter.device,
    push: copyPush(letter.push),
    reason: letter.reason,
    attempts: letter.attempts,
    atMs: letter.atMs,
  };
}
