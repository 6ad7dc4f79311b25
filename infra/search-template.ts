// Puts the search index's template into Elasticsearch (idempotent), as cassandra-migrate.ts and kafka-topics.ts
// prepare the other engines: the search process refuses to start without it.
import { Client } from '@elastic/elasticsearch';
import { putMessagesTemplate } from '../search/index.ts';

/** The local engine is one node: no replicas (one could never be placed, and every index would stay yellow). */
export async function putSearchTemplate(node: string, prefix: string, replicas = 0): Promise<void> {
  const es = new Client({ node, requestTimeout: 30_000 });
  try {
    await putMessagesTemplate(es, { prefix }, { replicas });
  } finally {
    await es.close();
  }
}
