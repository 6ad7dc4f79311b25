// What a chaos run records, from the clients' side only: every send and its acknowledgement, every entry each
// device showed or read back at the end, and every fault injected. The checker (checker.ts) judges it afterwards.

/** A send: a chat message from one device, or a notice accepted by the notice API. */
export interface SendRecord {
  /** What identifies the message whatever server id it gets: `<user>/<device>/<client_msg_id>`, or `notice:<id>`. */
  key: string;
  sender: string;
  device: string;
  /** "dm:<a>:<b>", "group:<id>", or "system" for a notice. */
  conversation: string;
  startedAtMs: number;
  /** The server's acknowledgement; absent if the send was given up (it may still have been stored). */
  ack?: SendAck;
  /** Why it was given up: the error's code (e.g. UNAVAILABLE after the send timeout) and when. */
  failure?: { code: string; atMs: number };
  /** A notice's recipients; a chat message goes to every member of its conversation (History.members). */
  audience?: string[];
}

export interface SendAck {
  id: string;
  /** The seq in the sender's inbox, or in the large group's timeline; 0 when the answer has none (notices). */
  seq: number;
  /** "inbox" or the timeline ("group:<id>") the seq belongs to. */
  stream: string;
  atMs: number;
}

/** How a device came to have an entry: shown by its SDK (live or by its own sync), or read from scratch at the end. */
export type View = 'shown' | 'scratch';

export interface Observation {
  user: string;
  device: string;
  view: View;
  /** SendRecord.key of the entry. */
  key: string;
  id: string;
  conversation: string;
  stream: string;
  seq: number;
  atMs: number;
}

/** A fault injected: from `startedAtMs` (e.g. kill -9) to `endedAtMs` (restart issued, SIGCONT), ready at `readyAtMs`. */
export interface FaultRecord {
  name: string;
  /** What it touched: a process name or an engine. */
  target: string;
  startedAtMs: number;
  endedAtMs: number;
  readyAtMs: number;
  /** While this fault lasted, the inbox store (Cassandra) was down: no acknowledgement may be given. */
  storeDown: boolean;
  error?: string;
}

export interface History {
  startedAtMs: number;
  endedAtMs: number;
  /** Conversation -> the users who must have each of its messages. */
  members: Record<string, string[]>;
  /** User -> their devices. */
  devices: Record<string, string[]>;
  sends: SendRecord[];
  observations: Observation[];
  /** A device told by sync to drop its state ("reset"): entries shown again after it are no duplicates. */
  resets: { user: string; device: string; atMs: number }[];
  faults: FaultRecord[];
}

/** The key of a chat message as every device sees it. */
export function messageKey(user: string, device: string, clientMsgId: string): string {
  return `${user}/${device}/${clientMsgId}`;
}

export function noticeKey(noticeId: string): string {
  return `notice:${noticeId}`;
}

/** Where a seq lives: a user's inbox, or a timeline shared by its members. */
export function streamOf(user: string, stream: string): string {
  return stream === 'inbox' || stream === '' ? `${user}:inbox` : stream;
}
