import type { SearchDoc, SearchRequest, Span } from './search-index.ts';

/** Where a reader finds a document: "inbox" and their own seq, or the shared stream and the entry's seq there. */
export interface ReadAt {
  stream: string;
  seq: number;
}

/**
 * Where `request.user` may read `doc`, or undefined if they may not: the permission rule, in one place for the
 * in-process index (the Elasticsearch adapter builds the same rule as a filter, and the contract suite holds both
 * to it). Their own inbox copy first; otherwise a shared stream within the scopes the service granted them.
 */
export function readAt(doc: SearchDoc, request: SearchRequest, nowMs: number): ReadAt | undefined {
  if (doc.notice && doc.notice.expireAtMs > 0 && doc.notice.expireAtMs <= nowMs) return undefined;
  const own = doc.readers.find((r) => r.user === request.user);
  if (own) return { stream: 'inbox', seq: own.seq };
  const timeline = doc.timeline;
  if (!timeline) return undefined;
  const { scopes } = request;
  const notice = doc.notice;
  if (notice) {
    if (timeline.stream !== 'system') return undefined;
    if (notice.audience === 'all') return scopes.noticesToAll ? timeline : undefined;
    if (!notice.audience.startsWith('tag:')) return undefined;
    const tag = notice.audience.slice('tag:'.length);
    const granted = scopes.noticeTags.some(
      (t) => t.appId === notice.appId && t.tag === tag && t.sinceMs <= doc.sentAtMs,
    );
    return granted ? timeline : undefined;
  }
  if (timeline.stream !== doc.conversation) return undefined;
  const spans = scopes.timelines.filter((t) => t.conversation === doc.conversation).flatMap((t) => t.spans);
  return spans.some((span) => within(span, timeline.seq, doc.sentAtMs)) ? timeline : undefined;
}

function within(span: Span, seq: number, atMs: number): boolean {
  return (
    (span.fromSeq === undefined || seq >= span.fromSeq) &&
    (span.toSeq === undefined || seq <= span.toSeq) &&
    (span.fromMs === undefined || atMs >= span.fromMs) &&
    (span.toMs === undefined || atMs <= span.toMs)
  );
}

/** The request's own filters (conversation, sender, time, kind): narrowing only, never widening. */
export function matchesFilters(doc: SearchDoc, request: SearchRequest): boolean {
  return (
    (request.conversation === undefined || doc.conversation === request.conversation) &&
    (request.fromUser === undefined || doc.fromUser === request.fromUser) &&
    (request.fromMs === undefined || doc.sentAtMs >= request.fromMs) &&
    (request.toMs === undefined || doc.sentAtMs <= request.toMs) &&
    (request.kind === undefined || doc.kind === request.kind)
  );
}
