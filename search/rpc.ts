import type { ApiOf } from '../lib/grpc.ts';
import type { SearchRequest as SearchRequestFrame } from '../proto/gen/im/v1/client.pb.ts';
import { SearchServiceService } from '../proto/gen/im/v1/services.pb.ts';
import type { ReindexApi, ReindexState, ReindexStatus } from './reindex-job.ts';
import type { SearchPage } from './search-index.ts';
import type { SearchApi, SearchQuery } from './service.ts';
import { frameOfPage, queryOfFrame } from './wire.ts';

export { SearchServiceService };

/**
 * The search service as its gRPC API (cluster mode's search process): a search for the user the gateway
 * authenticated, and the operator's reindex.
 */
export function searchRpc(search: SearchApi, reindex: ReindexApi): ApiOf<typeof SearchServiceService> {
  return {
    startReindex: async () => {
      const { started, status } = await reindex.startReindex();
      return { ...status, started };
    },
    getReindex: async () => ({ ...(await reindex.getReindex()), started: false }),
    search: async ({ user, query }) =>
      frameOfPage(await search.search(user, queryOfFrame(query ?? frameOfQuery({ text: '' })))),
  };
}

/** A gateway's SearchApi in cluster mode: the search process over gRPC, its errors (rate limits too) as they came. */
export function searchOverRpc(client: Pick<ApiOf<typeof SearchServiceService>, 'search'>): SearchApi {
  return {
    search: async (user, query) => pageOfFrame(await client.search({ user, query: frameOfQuery(query) })),
  };
}

/** The reindex of the search process, as logic's operator API calls it over gRPC. */
export function reindexOverRpc(
  client: Pick<ApiOf<typeof SearchServiceService>, 'startReindex' | 'getReindex'>,
): ReindexApi {
  return {
    startReindex: async () => {
      const { started, ...status } = await client.startReindex({});
      return { started, status: statusOf(status) };
    },
    getReindex: async () => statusOf(await client.getReindex({})),
  };
}

function statusOf(s: Omit<ReindexStatus, 'state'> & { state: string }): ReindexStatus {
  return { ...s, state: s.state as ReindexState };
}

/** A query as the SearchRequest frame carries it: unset filters as empty strings and zeros (queryOfFrame's inverse). */
function frameOfQuery(query: SearchQuery): SearchRequestFrame {
  return {
    text: query.text,
    conversation: query.conversation ?? '',
    fromUser: query.fromUser ?? '',
    fromMs: query.fromMs ?? 0,
    toMs: query.toMs ?? 0,
    kind: query.kind ?? '',
    order: query.order ?? '',
    limit: query.limit ?? 0,
    cursor: query.cursor ?? '',
  };
}

/** A SearchResponse frame as a page of hits (frameOfPage's inverse). */
function pageOfFrame(frame: { hits: ReturnType<typeof frameOfPage>['hits']; nextCursor: string }): SearchPage {
  const hits = frame.hits.map((hit) => ({
    id: hit.serverMsgId,
    conversation: hit.conversation,
    stream: hit.stream,
    seq: hit.seq,
    fromUser: hit.fromUser,
    sentAtMs: hit.sentAtMs,
    kind: hit.kind as SearchPage['hits'][number]['kind'],
    snippet: {
      text: hit.snippet,
      highlights: hit.highlights.map(({ start, end }): [number, number] => [start, end]),
    },
  }));
  return frame.nextCursor === '' ? { hits } : { hits, next: frame.nextCursor };
}
