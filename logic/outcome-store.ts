import type { SendOutcome } from '../proto/gen/im/v1/store.pb.ts';

export type { SendOutcome };

/**
 * Send outcomes by (sender, device, client_msg_id) (port). Entries live at least `ttlMs` (the window in which a
 * retried send is recognised).
 *
 * - `putIfAbsent` stores `outcome` unless the key has one, and returns whichever is stored: the first writer wins.
 * - `markDone` records that every inbox row of the outcome is written.
 * - `replace` overwrites the outcome stored under `key` (its message redacted, an edit counted) and answers true;
 *   it keeps the entry's expiry, and its done mark once set (`outcome.done` can set it, never clear it). It stores
 *   nothing, and answers false, when the key has no outcome (never put, or expired). Not atomic against another
 *   writer of the key: callers change an outcome only while handling a record of its conversation, which the bus
 *   hands them one at a time.
 */
export interface OutcomeStore {
  get(key: string): Promise<SendOutcome | undefined>;
  putIfAbsent(key: string, outcome: SendOutcome, ttlMs: number): Promise<SendOutcome>;
  markDone(key: string, ttlMs: number): Promise<void>;
  replace(key: string, outcome: SendOutcome): Promise<boolean>;
}

export function outcomeKey(user: string, device: string, clientMsgId: string): string {
  return `${user}\n${device}\n${clientMsgId}`;
}
