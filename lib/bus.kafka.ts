import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  Kafka,
  logLevel,
  type Consumer,
  type EachBatchPayload,
  type ISocketFactory,
  type logCreator,
  type Message,
  type Producer,
  type TopicMessages,
} from 'kafkajs';
import pRetry, { AbortError } from 'p-retry';
import { pino } from 'pino';
import './kafkajs-idle-fix.ts';
import { partitionFor, type Bus, type BusHandler, type BusRecord } from './bus.ts';
import type { Closeable } from './lifecycle.ts';
import type { Logger } from './logger.ts';

export interface KafkaBusOptions {
  brokers: string[];
  clientId: string;
  log?: Logger;
  /** First pause before a failed record is handed over again; it doubles per failure, up to 2 s. */
  retryDelayMs?: number;
}

const MAX_RETRY_DELAY_MS = 2_000;
/** Consumers per subscription, each fetching for its share of the partitions (eight made storms slower: 0016). */
const CONSUMERS_PER_SUBSCRIPTION = 4;
/** Batches of different partitions handled at once per consumer. */
const PARTITIONS_CONCURRENTLY = 8;
/** Records of different keys of one partition handled at once (one key is always one record at a time). */
const IN_FLIGHT_PER_PARTITION = 32;

interface Pending {
  topic: string;
  message: Message;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** The Bus on Kafka: idempotent producer with acks from all replicas, consumer groups that commit after handling. */
export class KafkaBus implements Bus {
  private readonly kafka: Kafka;
  private readonly producer: Producer;
  private readonly log: Logger;
  private readonly retryDelayMs: number;
  private readonly subscriptions = new Set<Closeable>();
  private connecting: Promise<void> | undefined;
  private queue: Pending[] = [];
  private flushing: Promise<void> | undefined;
  private closing: Promise<void> | undefined;

  constructor(options: KafkaBusOptions) {
    this.log = options.log ?? pino({ level: 'silent' });
    this.retryDelayMs = options.retryDelayMs ?? 100;
    this.kafka = new Kafka({
      clientId: options.clientId,
      brokers: options.brokers,
      logLevel: logLevel.WARN,
      logCreator: toPino(this.log.child({ component: 'kafkajs' })),
      // Nagle's algorithm held small requests (produce, fetch, commit) back behind unacknowledged ones: with
      // TCP_NODELAY the Kafka hop at 100 msg/s fell from 18-20 to 11-13 ms (decision 0016).
      socketFactory: noDelaySockets,
    });
    // Retries stay at kafkajs's idempotent default (unbounded): giving up mid-sequence could let the broker drop a
    // later batch as a duplicate. One request in flight keeps sequence numbers, and so order, intact.
    this.producer = this.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      createPartitioner:
        () =>
        ({ partitionMetadata, message }) =>
          partitionFor(keyText(message.key), partitionMetadata.length),
    });
  }

  publish(topic: string, key: string, value: Uint8Array): Promise<void> {
    if (this.closing) return Promise.reject(new Error('bus closed'));
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ topic, message: { key, value: Buffer.from(value) }, resolve, reject });
      this.flushing ??= this.flush();
    });
  }

  /**
   * Several consumers of the group share the topic's partitions. A kafkajs consumer fetches again only once every
   * batch of its last fetch is handled, so with one consumer a record that arrives while another is being
   * handled waits for it (decision 0016).
   */
  async subscribe(topic: string, group: string, handler: BusHandler): Promise<Closeable> {
    const settled = await Promise.allSettled(
      Array.from({ length: CONSUMERS_PER_SUBSCRIPTION }, () => this.subscribeOne(topic, group, handler)),
    );
    const subscriptions = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    const closeAll = async () => void (await Promise.all(subscriptions.map((s) => s.close())));
    const failed = settled.find((s) => s.status === 'rejected');
    if (failed) {
      await closeAll();
      throw failed.reason;
    }
    return { close: closeAll };
  }

  private async subscribeOne(topic: string, group: string, handler: BusHandler): Promise<Closeable> {
    if (this.closing) throw new Error('bus closed');
    const log = this.log.child({ topic, group });
    const stopped = new AbortController();
    let current: Consumer | undefined;
    let closed: Promise<void> | undefined;
    const subscription: Closeable = {
      close: () => {
        closed ??= (async () => {
          stopped.abort();
          this.subscriptions.delete(subscription);
          await current?.disconnect();
        })();
        return closed;
      },
    };
    this.subscriptions.add(subscription);

    const start = async (): Promise<void> => {
      const consumer = this.kafka.consumer({
        groupId: group,
        sessionTimeout: 6_000,
        heartbeatInterval: 500,
        rebalanceTimeout: 10_000,
        // A fetch is answered as soon as a record arrives, so this bounds only how often an idle consumer asks
        // again: at 50 ms, each idle consumer and the broker burned about 5% of a core here (decision 0016).
        maxWaitTimeInMs: 500,
        allowAutoTopicCreation: false,
      });
      current = consumer;
      consumer.on(consumer.events.CRASH, ({ payload }) => {
        log.error({ err: payload.error, restart: payload.restart }, 'kafka consumer crashed');
        // kafkajs restarts a consumer after a retriable error only. After any other it has disconnected the consumer
        // for good: its offset bookkeeping can throw a TypeError when a rebalance lands mid-batch (tulios/kafkajs#558),
        // and the subscription would quietly run one consumer short. A new consumer of the group takes its place.
        if (payload.restart || stopped.signal.aborted) return;
        pRetry(start, {
          retries: Number.POSITIVE_INFINITY,
          minTimeout: this.retryDelayMs,
          maxTimeout: 5_000,
          signal: stopped.signal,
          onFailedAttempt: ({ error }) => log.warn({ err: error }, 'could not replace a crashed kafka consumer'),
        }).catch((err: unknown) => {
          // Ends here when the subscription closes, or on an error p-retry does not retry (a TypeError).
          if (!stopped.signal.aborted) log.error({ err }, 'gave up replacing a crashed kafka consumer');
        });
      });
      try {
        await consumer.connect();
        await consumer.subscribe({ topics: [topic], fromBeginning: true });
        await this.run(consumer, handler, stopped.signal, log);
      } catch (err) {
        await consumer.disconnect().catch(() => undefined);
        throw err;
      }
      // Closed while joining: disconnect again in case run() started the consumer after the first disconnect.
      if (stopped.signal.aborted) {
        await consumer.disconnect();
        throw new AbortError('bus closed'); // also ends the replacing of a crashed consumer, without a retry
      }
    };

    try {
      await start();
    } catch (err) {
      await subscription.close();
      throw err;
    }
    return subscription;
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    await this.flushing;
    try {
      await Promise.all([...this.subscriptions].map((s) => s.close()));
    } finally {
      if (this.connecting) await this.producer.disconnect();
    }
  }

  /** One sendBatch at a time, carrying everything published while the previous one was in flight. */
  private async flush(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0);
      try {
        await this.connectProducer();
        await this.producer.sendBatch({ acks: -1, topicMessages: byTopic(batch) });
        for (const p of batch) p.resolve();
      } catch (err) {
        for (const p of batch) p.reject(err);
      }
    }
    this.flushing = undefined;
  }

  private connectProducer(): Promise<void> {
    this.connecting ??= this.producer.connect().catch((err: unknown) => {
      this.connecting = undefined;
      throw err;
    });
    return this.connecting;
  }

  /**
   * Within a partition, records of different keys are handled concurrently (up to IN_FLIGHT_PER_PARTITION) and
   * records of one key strictly one after another, in order. An offset is resolved only once its record and every
   * record before it in the partition are handled, and kafkajs commits only resolved offsets (after each batch,
   * every second within a long one, and before rejoining on a rebalance). On a failure the batch stops taking new
   * records, lets those in flight finish, and ends: the next fetch starts again at the first record not handled,
   * so the failed record (and any record after it, handled or not) is handed over again. Nothing is thrown to
   * kafkajs, which would restart the consumer.
   */
  private run(consumer: Consumer, handler: BusHandler, stopped: AbortSignal, log: Logger): Promise<void> {
    const failures = new Map<number, number>();
    const eachBatch = async (payload: EachBatchPayload): Promise<void> => {
      const { batch } = payload;
      const messages = batch.messages;
      const handled = new Array<boolean>(messages.length).fill(false);
      let resolved = 0;
      let failed = false;
      /** Per key: the last task, resolving false once a record of the key failed (its later records wait). */
      const lastOfKey = new Map<string, Promise<boolean>>();
      const inFlight = new Set<Promise<unknown>>();
      const live = () => payload.isRunning() && !payload.isStale() && !stopped.aborted;
      const resolveHandled = async () => {
        while (resolved < messages.length && handled[resolved]) payload.resolveOffset(messages[resolved++]!.offset);
        await payload.commitOffsetsIfNecessary();
        await payload.heartbeat();
      };
      for (const [i, message] of messages.entries()) {
        if (failed || !live()) break;
        const record: BusRecord = {
          topic: batch.topic,
          partition: batch.partition,
          offset: Number(message.offset),
          key: keyText(message.key),
          value: message.value ?? new Uint8Array(0),
        };
        const task = (lastOfKey.get(record.key) ?? Promise.resolve(true)).then(async (ok) => {
          if (!ok || failed || !live()) return false;
          try {
            await handler(record);
            handled[i] = true;
            return true;
          } catch (err) {
            failed = true;
            const attempt = (failures.get(batch.partition) ?? 0) + 1;
            failures.set(batch.partition, attempt);
            log.warn(
              { err, partition: record.partition, offset: record.offset, attempt },
              'bus handler failed; handing the record over again',
            );
            return false;
          }
        });
        lastOfKey.set(record.key, task);
        const tracked: Promise<unknown> = task.finally(() => inFlight.delete(tracked));
        inFlight.add(tracked);
        if (inFlight.size >= IN_FLIGHT_PER_PARTITION) await Promise.race(inFlight);
        await resolveHandled();
      }
      await Promise.all(inFlight);
      if (!payload.isStale()) await resolveHandled();
      if (failed) {
        const attempt = failures.get(batch.partition) ?? 1;
        const delay = Math.min(this.retryDelayMs * 2 ** (attempt - 1), MAX_RETRY_DELAY_MS);
        await sleep(delay, undefined, { signal: stopped }).catch(() => undefined);
      } else failures.delete(batch.partition);
    };
    return consumer.run({
      autoCommit: true,
      autoCommitInterval: 1_000,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: PARTITIONS_CONCURRENTLY,
      eachBatch,
    });
  }
}

/** kafkajs's own factory without TLS, plus TCP_NODELAY (which it leaves off). */
const noDelaySockets: ISocketFactory = ({ host, port, onConnect }) => {
  const socket = net.connect({ host, port, noDelay: true }, onConnect);
  socket.setKeepAlive(true, 60_000);
  return socket;
};

function keyText(key: Buffer | string | null | undefined): string {
  return typeof key === 'string' ? key : (key?.toString() ?? '');
}

function byTopic(batch: readonly Pending[]): TopicMessages[] {
  const topics = new Map<string, Message[]>();
  for (const { topic, message } of batch) {
    const messages = topics.get(topic) ?? [];
    messages.push(message);
    topics.set(topic, messages);
  }
  return [...topics].map(([topic, messages]) => ({ topic, messages }));
}

/** kafkajs logs into pino. Failed responses it retries or rethrows itself (e.g. heartbeats during a rebalance) go to debug. */
function toPino(log: Logger): logCreator {
  return () =>
    ({ namespace, level, log: entry }) => {
      const { message, ...fields } = entry;
      // pino stamps its own time.
      const context = { namespace, ...fields, timestamp: undefined };
      if (namespace === 'Connection' && message.startsWith('Response ')) log.debug(context, message);
      else if (level === logLevel.ERROR) log.error(context, message);
      else if (level === logLevel.WARN) log.warn(context, message);
      else if (level === logLevel.INFO) log.info(context, message);
      else log.debug(context, message);
    };
}
