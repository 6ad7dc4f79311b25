import { randomFillSync, randomUUID } from 'node:crypto';
import { monotonicFactory } from 'ulid';

/**
 * ulid's default source asks the platform for one random byte per character (16 calls per id); this hands out
 * bytes of one buffer refilled from the same CSPRNG 4 KiB at a time. 256 is a multiple of ulid's alphabet of 32,
 * so every character stays uniform.
 */
const pool = Buffer.alloc(4096);
let used = pool.length;
function pooledRandom(): number {
  if (used === pool.length) {
    randomFillSync(pool);
    used = 0;
  }
  return pool[used++]! / 256;
}

const nextUlid = monotonicFactory(pooledRandom);

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
