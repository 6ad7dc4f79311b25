import type {
  SearchRequest as SearchRequestFrame,
  SearchResponse as SearchResponseFrame,
} from '../proto/gen/im/v1/client.pb.ts';
import type { SearchPage } from './search-index.ts';
import { kindOf, orderOf, type SearchQuery } from './service.ts';

/** A SearchRequest frame as a query: its empty strings and zeros are filters left unset. */
export function queryOfFrame(frame: SearchRequestFrame): SearchQuery {
  const query: SearchQuery = { text: frame.text };
  if (frame.conversation !== '') query.conversation = frame.conversation;
  if (frame.fromUser !== '') query.fromUser = frame.fromUser;
  if (frame.fromMs !== 0) query.fromMs = frame.fromMs;
  if (frame.toMs !== 0) query.toMs = frame.toMs;
  const kind = kindOf(frame.kind);
  if (kind) query.kind = kind;
  const order = orderOf(frame.order);
  if (order) query.order = order;
  if (frame.limit !== 0) query.limit = frame.limit;
  if (frame.cursor !== '') query.cursor = frame.cursor;
  return query;
}

/** A page of hits as the SearchResponse frame carries it. */
export function frameOfPage(page: SearchPage): SearchResponseFrame {
  return {
    hits: page.hits.map((hit) => ({
      serverMsgId: hit.id,
      conversation: hit.conversation,
      stream: hit.stream,
      seq: hit.seq,
      fromUser: hit.fromUser,
      sentAtMs: hit.sentAtMs,
      kind: hit.kind,
      snippet: hit.snippet.text,
      highlights: hit.snippet.highlights.map(([start, end]) => ({ start, end })),
    })),
    nextCursor: page.next ?? '',
  };
}

/** A page of hits as `GET /v1/search` answers it: the frame's fields, snake_case, and `next` (absent: no more). */
export function jsonOfPage(page: SearchPage): { hits: Record<string, unknown>[]; next?: string } {
  const hits = frameOfPage(page).hits.map((hit) => ({
    server_msg_id: hit.serverMsgId,
    conversation: hit.conversation,
    stream: hit.stream,
    seq: hit.seq,
    from_user: hit.fromUser,
    sent_at_ms: hit.sentAtMs,
    kind: hit.kind,
    snippet: hit.snippet,
    highlights: hit.highlights,
  }));
  return page.next === undefined ? { hits } : { hits, next: page.next };
}
