import type { Logger } from '../lib/logger.ts';
import type { Offline } from '../offline/index.ts';
import type { SearchIndexer } from './indexing.ts';

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
