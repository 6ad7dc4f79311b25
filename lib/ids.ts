import { randomUUID } from 'node:crypto';
import { monotonicFactory } from 'ulid';

const nextUlid = monotonicFactory();

/** Server message ids sort by creation time (ULID), which keeps logs and search results readable. */
export function newServerMsgId(): string {
  return nextUlid();
}

export function newConnId(): string {
  return randomUUID();
}

export function newGroupId(): string {
  return nextUlid().toLowerCase();
}
