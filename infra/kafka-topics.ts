// Creates the application's Kafka topics from their one definition (the broker has auto-create off).
import { Kafka, logLevel } from 'kafkajs';

export interface TopicSpec {
  readonly name: string;
  readonly partitions: number;
}

export interface EnsureTopicsResult {
  created: string[];
  /** Existing topics whose partition count was raised to the spec (Kafka cannot lower it). */
  grown: string[];
  unchanged: string[];
}

/**
 * Idempotent: creates missing topics, raises the partition count of existing ones that have fewer
 * than specified, and leaves the rest alone. Waits until the new partitions have leaders.
 */
export async function ensureTopics(
  brokers: readonly string[],
  topics: readonly TopicSpec[],
  opts?: { replicationFactor?: number },
): Promise<EnsureTopicsResult> {
  const admin = new Kafka({ clientId: 'im-ensure-topics', brokers: [...brokers], logLevel: logLevel.WARN }).admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t.name));
    if (missing.length > 0) {
      await admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((t) => ({
          topic: t.name,
          numPartitions: t.partitions,
          replicationFactor: opts?.replicationFactor ?? 1,
        })),
      });
    }
    const present = topics.filter((t) => existing.has(t.name));
    const grown: string[] = [];
    if (present.length > 0) {
      const meta = await admin.fetchTopicMetadata({ topics: present.map((t) => t.name) });
      const counts = new Map(meta.topics.map((t) => [t.name, t.partitions.length]));
      const toGrow = present.filter((t) => (counts.get(t.name) ?? 0) < t.partitions);
      if (toGrow.length > 0) {
        await admin.createPartitions({ topicPartitions: toGrow.map((t) => ({ topic: t.name, count: t.partitions })) });
        grown.push(...toGrow.map((t) => t.name));
      }
    }
    return {
      created: missing.map((t) => t.name),
      grown,
      unchanged: present.map((t) => t.name).filter((n) => !grown.includes(n)),
    };
  } finally {
    await admin.disconnect();
  }
}
