import type { Bus, BusRecord } from './bus.ts';
import type { Closeable } from './lifecycle.ts';
import type { Logger } from './logger.ts';
import { deadLetterTopic } from './topics.ts';

export interface ConsumeOptions<T> {
  topic: string;
  group: string;
  /** Throws on a record that can never be handled (a poison message): it goes to `<topic>.dead`. */
  decode(value: Uint8Array): T;
  handle(value: T, record: BusRecord): Promise<void>;
  log: Logger;
}

/**
 * Subscribes with the project's consumer policy: poison records are dead-lettered with their reason and skipped;
 * any other failure is transient (a store is down), so the record is handed over again and its partition waits.
 * Nothing is dropped silently.
 */
export function consume<T>(bus: Bus, options: ConsumeOptions<T>): Promise<Closeable> {
  const { topic, group, log } = options;
  return bus.subscribe(topic, group, async (record) => {
    let value: T;
    try {
      value = options.decode(record.value);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      log.error({ topic, partition: record.partition, offset: record.offset, reason }, 'poison record dead-lettered');
      const dead = {
        reason,
        topic,
        partition: record.partition,
        offset: record.offset,
        key: record.key,
        value: Buffer.from(record.value).toString('base64'),
      };
      await bus.publish(deadLetterTopic(topic), record.key, Buffer.from(JSON.stringify(dead)));
      return;
    }
    try {
      await options.handle(value, record);
    } catch (err) {
      log.warn(
        { err, topic, partition: record.partition, offset: record.offset },
        'handler failed; record will be retried',
      );
      throw err;
    }
  });
}
