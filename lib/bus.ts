import type { Closeable } from './lifecycle.ts';

export interface BusRecord {
  topic: string;
  partition: number;
  offset: number;
  key: string;
  value: Uint8Array;
}

export type BusHandler = (record: BusRecord) => Promise<void>;

/**
 * The message bus port (Kafka in cluster mode, in-process in embedded mode).
 *
 * - `publish` resolves once the record is durably accepted. Records with the same key go to the same
 *   partition and are consumed in publish order.
 * - `subscribe` hands the records of one key to `handler` one at a time, in publish order; records of different
 *   keys may be handled concurrently (the Kafka adapter does, within a partition too). An offset is committed
 *   only after its record and every earlier record of the partition are handled. Delivery is at least once: after
 *   a crash, a failure or a rebalance a record may be handed over again, so handlers are idempotent.
 * - A handler that rejects has its record handed over again (the adapter does not skip it); retry limits and
 *   dead-lettering are the caller's policy (see `withRetryAndDeadLetter`).
 * - Consumers in the same group share the partitions; different groups each see every record.
 */
export interface Bus extends Closeable {
  publish(topic: string, key: string, value: Uint8Array): Promise<void>;
  subscribe(topic: string, group: string, handler: BusHandler): Promise<Closeable>;
}

/** Stable key -> partition mapping (FNV-1a), the same in every process. */
export function partitionFor(key: string, partitions: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % partitions;
}
