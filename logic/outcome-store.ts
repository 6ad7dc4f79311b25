import type { SendOutcome } from '../proto/gen/im/v1/store.pb.ts';

export type { SendOutcome };

/**
 * Send outcomes by (sender, device, client_msg_id) (port). Entries live at least `ttlMs` (the window in which a
 * retried send is recognised).
 *
 * - `putIfAbsent` stores `outcome` unless the key has one, and returns whichever is stored: the first writer wins.
 * - `markDone` records that every inbox row of the outcome is written.
 */
export interface OutcomeStore {
  get(key: string): Promise<SendOutcome | undefined>;
  putIfAbsent(key: string, outcome: SendOutcome, ttlMs: number): Promise<SendOutcome>;
  markDone(key: string, ttlMs: number): Promise<void>;
}

export function outcomeKey(user: string, device: string, clientMsgId: string): string {
  return `${user}\n${device}\n${clientMsgId}`;
}
