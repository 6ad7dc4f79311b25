import { setTimeout as sleep } from 'node:timers/promises';
import { partitionFor, type Bus, type BusHandler, type BusRecord } from './bus.ts';
import type { Closeable } from './lifecycle.ts';

export interface MemoryBusOptions {
  /** Partition count of a topic, fixed when the topic is first used. */
  partitionsOf?: (topic: string) => number;
  /** Records kept per partition beyond what every group has consumed (Kafka's retention, by count). */
  retainedPerPartition?: number;
  /** Pause before a failed record is handed over again. */
  retryDelayMs?: number;
}

interface Partition {
  records: BusRecord[];
  /** Offset of records[0]. */
  base: number;
  next: number;
  wake: Set<() => void>;
}

interface Group {
  committed: number[];
  consumers: BusHandler[];
}

interface Topic {
  partitions: Partition[];
  groups: Map<string, Group>;
}

/** The in-process Bus: real partitions, per-key order, consumer groups, commit after handling, redelivery on failure. */
export class MemoryBus implements Bus {
  private readonly topics = new Map<string, Topic>();
  private closed = false;
  private readonly partitionsOf: (topic: string) => number;
  private readonly retained: number;
  private readonly retryDelayMs: number;

  constructor(options: MemoryBusOptions = {}) {
    this.partitionsOf = options.partitionsOf ?? (() => 4);
    this.retained = options.retainedPerPartition ?? 100_000;
    this.retryDelayMs = options.retryDelayMs ?? 50;
  }

  publish(topicName: string, key: string, value: Uint8Array): Promise<void> {
    if (this.closed) return Promise.reject(new Error('bus closed'));
    const topic = this.topic(topicName);
    const partitionNo = partitionFor(key, topic.partitions.length);
    const partition = topic.partitions[partitionNo]!;
    partition.records.push({ topic: topicName, partition: partitionNo, offset: partition.next++, key, value });
    this.trim(topic, partitionNo);
    for (const wake of partition.wake) wake();
    partition.wake.clear();
    return Promise.resolve();
  }

  subscribe(topicName: string, groupName: string, handler: BusHandler): Promise<Closeable> {
    const topic = this.topic(topicName);
    let group = topic.groups.get(groupName);
    if (!group) {
      // A new group starts at the earliest retained record, like Kafka's fromBeginning.
      const created: Group = { committed: topic.partitions.map((p) => p.base), consumers: [] };
      topic.groups.set(groupName, created);
      topic.partitions.forEach((_, p) => void this.runPartition(topic, created, p));
      group = created;
    }
    const owner = group;
    owner.consumers.push(handler);
    this.wakeAll(topic);
    return Promise.resolve({
      close: () => {
        owner.consumers = owner.consumers.filter((h) => h !== handler);
        return Promise.resolve();
      },
    });
  }

  close(): Promise<void> {
    this.closed = true;
    for (const topic of this.topics.values()) this.wakeAll(topic);
    return Promise.resolve();
  }

  private topic(name: string): Topic {
    let topic = this.topics.get(name);
    if (!topic) {
      const count = Math.max(1, this.partitionsOf(name));
      topic = {
        partitions: Array.from({ length: count }, () => ({
          records: [],
          base: 0,
          next: 0,
          wake: new Set<() => void>(),
        })),
        groups: new Map(),
      };
      this.topics.set(name, topic);
    }
    return topic;
  }

  /** One loop per (group, partition): strictly one record in flight, so order holds. */
  private async runPartition(topic: Topic, group: Group, p: number): Promise<void> {
    const partition = topic.partitions[p]!;
    while (!this.closed) {
      const offset = Math.max(group.committed[p]!, partition.base);
      const record = partition.records[offset - partition.base];
      const owner = group.consumers.length ? group.consumers[p % group.consumers.length] : undefined;
      if (!record || !owner) {
        await new Promise<void>((resolve) => partition.wake.add(resolve));
        continue;
      }
      try {
        await owner(record);
        group.committed[p] = offset + 1;
        this.trim(topic, p);
      } catch {
        await sleep(this.retryDelayMs);
      }
    }
  }

  private trim(topic: Topic, p: number): void {
    const partition = topic.partitions[p]!;
    let keepFrom = partition.next - this.retained;
    if (topic.groups.size > 0) {
      const slowest = Math.min(...[...topic.groups.values()].map((g) => g.committed[p]!));
      keepFrom = Math.max(keepFrom, slowest);
    }
    const drop = keepFrom - partition.base;
    if (drop > 0) {
      partition.records.splice(0, drop);
      partition.base = keepFrom;
    }
  }

  private wakeAll(topic: Topic): void {
    for (const partition of topic.partitions) {
      for (const wake of partition.wake) wake();
      partition.wake.clear();
    }
  }
}
