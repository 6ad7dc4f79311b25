// The search service's public surface: the port, its adapters, the indexing core and the scope rule. What composes
// them into a running service (which bus topic, which stores) lives in app/.
export type {
  DocKind,
  IndexOp,
  ReadableScopes,
  SearchDoc,
  SearchHit,
  SearchIndex,
  SearchOrder,
  SearchPage,
  SearchRequest,
  Span,
} from './search-index.ts';
export { MAX_SEARCH_LIMIT } from './search-index.ts';
export { MAX_QUERY_CHARS, MAX_QUERY_WORDS } from './query-text.ts';
export { MiniSearchIndex, type MiniSearchIndexOptions } from './search-index.minisearch.ts';
export { EsSearchIndex, type EsSearchIndexOptions } from './search-index.elasticsearch.ts';
export {
  dropMonthsBefore,
  messagesAlias,
  putMessagesTemplate,
  type EsLayout,
  type TemplateOptions,
} from './es-indices.ts';
export {
  docIdOf,
  indexOpsOf,
  isEndToEndEncrypted,
  mattersToSearch,
  SearchIndexer,
  type IndexingOptions,
  type StoredEntry,
} from './indexing.ts';
export { readableScopes, type ScopeSources, type UserTag } from './readable-scopes.ts';
export { indexInboxWrites, publishInboxWrites } from './indexed-offline.ts';
export { entriesOfRecord, searchRecordsOf, type SearchRecord } from './search-input.ts';
export { reindexOverRpc, SearchServiceService, searchOverRpc, searchRpc } from './rpc.ts';
export { reindex, type ReindexCounts, type ReindexOptions } from './reindex.ts';
export { ReindexJob, type ReindexApi, type ReindexState, type ReindexStatus } from './reindex-job.ts';
export { searchAdminHttpHandler } from './admin-http.ts';
export { startRetention, type RetentionOptions } from './retention.ts';
export {
  DEFAULT_SEARCH_LIMIT,
  Search,
  type SearchApi,
  type SearchQuery,
  type SearchServiceOptions,
} from './service.ts';
export { frameOfPage, jsonOfPage, queryOfFrame } from './wire.ts';
export { SEARCH_HTTP_PATH, searchHttpHandler } from './http.ts';
