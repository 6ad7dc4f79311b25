import { Client as EsClient } from '@elastic/elasticsearch';
import type { Client as CassandraClient } from 'cassandra-driver';
import { consume } from '../../lib/bus-consumer.ts';
import type { Bus } from '../../lib/bus.ts';
import type { Config } from '../../lib/config.ts';
import type { Closeable } from '../../lib/lifecycle.ts';
import type { Logger } from '../../lib/logger.ts';
import { topics } from '../../lib/topics.ts';
import { allGroupIdsOf } from '../../logic/groups-of.ts';
import { CassandraGroupStore } from '../../logic/group-store.cassandra.ts';
import { CassandraTagStore } from '../../logic/notices/tag-store.cassandra.ts';
import { CassandraInboxStore } from '../../offline/inbox-store.cassandra.ts';
import {
  dropMonthsBefore,
  entriesOfRecord,
  EsSearchIndex,
  messagesAlias,
  reindex,
  ReindexJob,
  Search,
  SearchIndexer,
  searchRpc,
  startRetention,
} from '../../search/index.ts';

/**
 * The consumer group of the search processes on search_input: they share its partitions. One per index prefix: its
 * offsets say what that index has, and a new prefix (a new index) starts from the oldest record Kafka keeps.
 */
export function searchIndexGroup(prefix: string): string {
  return `search-index.${prefix}`;
}

export interface SearchProcess {
  started: Closeable[];
  rpc: ReturnType<typeof searchRpc>;
  ready: () => Promise<void>;
}

/**
 * Cluster mode's search process (decision 0031): indexes `search_input` into Elasticsearch (a record's offset is
 * committed once the index has it, so a crash replays it, and the replay writes the same documents), and answers
 * searches, with each user's scopes read from Cassandra's groups and tags, never from the caller.
 */
export async function startSearchProcess(
  config: Config,
  deps: { bus: Bus; cassandra: CassandraClient; log: Logger },
): Promise<SearchProcess> {
  const started: Closeable[] = [];
  const es = new EsClient({ node: config.elasticsearchNode, requestTimeout: 30_000 });
  started.push({ close: () => es.close() });
  const layout = { prefix: config.searchIndexPrefix };
  await requireTemplate(es, messagesAlias(layout));
  const cursorKey = config.searchCursorKey === '' ? undefined : Buffer.from(config.searchCursorKey, 'base64url');
  if (!cursorKey) deps.log.warn('IM_SEARCH_CURSOR_KEY unset: search cursors do not outlive this process');
  const index = new EsSearchIndex({ es, ...layout, ...(cursorKey ? { cursorKey } : {}) });
  started.push(index);
  started.push(
    startRetention({
      days: config.searchRetentionDays,
      drop: (cutoffMs) => dropMonthsBefore(es, layout, cutoffMs),
      log: deps.log,
    }),
  );
  const indexer = new SearchIndexer(index);
  started.push(
    await consume(deps.bus, {
      topic: topics.searchInput.name,
      group: searchIndexGroup(layout.prefix),
      decode: entriesOfRecord,
      log: deps.log,
      handle: (entries) => indexer.handle(entries),
    }),
  );
  const groups = new CassandraGroupStore(deps.cassandra);
  const tags = new CassandraTagStore(deps.cassandra);
  const search = new Search(
    index,
    { groupsOf: (user) => allGroupIdsOf(groups, user), tagsOf: (user) => tags.tagsOf(user) },
    { perUserPerSecond: config.searchPerUserPerSecond },
  );
  // The operator's reindex reads Cassandra's inboxes whole (InboxStore.scan) into the same index.
  const inbox = new CassandraInboxStore(deps.cassandra, { retainedPerUser: config.inboxRetainedPerUser });
  const job = new ReindexJob(
    (onProgress, signal) => reindex(inbox.scan(), index, { onProgress, signal }),
    deps.log.child({ job: 'reindex' }),
  );
  started.push(job);
  return { started, rpc: searchRpc(search, job), ready: async () => void (await es.ping()) };
}

/**
 * The index template is infra's (app/cluster.ts puts it, as it migrates Cassandra): without it, the first document
 * would create a month with guessed mappings, which no search could read right. So the process stops here instead.
 */
async function requireTemplate(es: EsClient, name: string): Promise<void> {
  const { body: exists } = await es.indices.existsIndexTemplate({ name });
  if (!exists) {
    throw new Error(
      `search: no index template ${name} in Elasticsearch; infra puts it (putMessagesTemplate) before the search ` +
        'process starts (npm run cluster does)',
    );
  }
}
