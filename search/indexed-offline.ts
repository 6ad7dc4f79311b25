import type { Logger } from '../lib/logger.ts';
import type { Offline } from '../offline/index.ts';
import type { IndexingOptions, SearchIndexer } from './indexing.ts';
import { searchRecordsOf, type SearchRecord } from './search-input.ts';

/**
 * Embedded mode's indexing: every inbox write of `offline` (sends, edits, recalls, notices and their cancels, from
 * logic and the notice service alike) is handed to the indexer as soon as it is stored, in the same event-loop turn,
 * so with a data directory the index rows join the inbox rows' group commit. The write does not wait for the index
 * and never fails because of it: a failure is logged, and a reindex repairs the index (as it does for a
 * crash between the commits of a write made while the index was still being rebuilt at start).
 *
 * The instance's own `writeInbox` is replaced, so every holder of it (in process or behind loopback gRPC) indexes.
 */
export function indexInboxWrites(offline: Offline, indexer: SearchIndexer, log: Logger): void {
  const write = offline.writeInbox.bind(offline);
  offline.writeInbox = async (request) => {
    const response = await write(request);
    indexer.handle(request.entries).catch((err: unknown) => log.error({ err }, 'search indexing failed'));
    return response;
  };
}

/**
 * Cluster mode's indexing, the producing half: every inbox write of `offline` (in the logic process, sends and notices
 * alike) that changes the index is handed to `publish` (the `search_input` topic) before the write returns. A failed
 * publish fails the write, which its caller retries (writes are idempotent), so nothing stored is missed by the index;
 * the search process consumes the topic (search-input.ts).
 */
export function publishInboxWrites(
  offline: Offline,
  publish: (records: SearchRecord[]) => Promise<void>,
  options: IndexingOptions = {},
): void {
  const write = offline.writeInbox.bind(offline);
  offline.writeInbox = async (request) => {
    const response = await write(request);
    const records = searchRecordsOf(request.entries, options);
    if (records.length > 0) await publish(records);
    return response;
  };
}
