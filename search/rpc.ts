import type { ApiOf } from '../lib/grpc.ts';
import type { SearchRequest as SearchRequestFrame } from '../proto/gen/im/v1/client.pb.ts';
import { SearchServiceService } from '../proto/gen/im/v1/services.pb.ts';
import type { SearchPage } from './search-index.ts';
import type { SearchApi, SearchQuery } from './service.ts';
import { frameOfPage, queryOfFrame } from './wire.ts';

export { SearchServiceService };

/** The search service as its gRPC API (cluster mode's search process): the user, as the gateway authenticated them. */
export function searchRpc(search: SearchApi): ApiOf<typeof SearchServiceService> {
  return {
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
