import { ImError } from '../lib/errors.ts';
import type { SearchRequest } from './search-index.ts';

/** The most clauses a permission filter may have (Elasticsearch refuses more than 1,024 in one bool query). */
const MAX_SCOPE_CLAUSES = 1_000;

/**
 * The permission rule as a filter (readable.ts says it in code): the user's own inbox copy; a large group's
 * timeline entry (never a notice) within a granted span; a notice of the system timeline to everyone or to a tag
 * the user carried when it was sent. Never an expired notice.
 */
export function permitted(request: SearchRequest, nowMs: number): object {
  const { user, scopes } = request;
  const notNotice = { bool: { must_not: [{ exists: { field: 'noticeAudience' } }] } };
  const should: object[] = [{ term: { readers: user } }];
  const open = scopes.timelines.filter((t) => t.spans.some((s) => Object.values(s).every((v) => v === undefined)));
  if (open.length > 0) {
    should.push({ bool: { filter: [{ terms: { timelineStream: open.map((t) => t.conversation) } }, notNotice] } });
  }
  for (const { conversation, spans } of scopes.timelines) {
    for (const span of spans) {
      const seq = {
        ...(span.fromSeq !== undefined && { gte: span.fromSeq }),
        ...(span.toSeq !== undefined && { lte: span.toSeq }),
      };
      const time = {
        ...(span.fromMs !== undefined && { gte: span.fromMs }),
        ...(span.toMs !== undefined && { lte: span.toMs }),
      };
      if (Object.keys(seq).length === 0 && Object.keys(time).length === 0) continue;
      const filter: object[] = [{ term: { timelineStream: conversation } }, notNotice];
      if (Object.keys(seq).length > 0) filter.push({ range: { timelineSeq: seq } });
      if (Object.keys(time).length > 0) filter.push({ range: { sentAtMs: time } });
      should.push({ bool: { filter } });
    }
  }
  if (scopes.noticesToAll) {
    should.push({ bool: { filter: [{ term: { timelineStream: 'system' } }, { term: { noticeAudience: 'all' } }] } });
  }
  for (const t of scopes.noticeTags) {
    should.push({
      bool: {
        filter: [
          { term: { timelineStream: 'system' } },
          { term: { noticeAppId: t.appId } },
          { term: { noticeAudience: `tag:${t.tag}` } },
          { range: { sentAtMs: { gte: t.sinceMs } } },
        ],
      },
    });
  }
  if (should.length > MAX_SCOPE_CLAUSES) {
    throw new ImError('INTERNAL', `search: ${should.length} scopes for ${user}, more than one query holds`);
  }
  const notExpired = {
    bool: {
      should: [{ bool: { must_not: [{ exists: { field: 'expireAtMs' } }] } }, { range: { expireAtMs: { gt: nowMs } } }],
      minimum_should_match: 1,
    },
  };
  return { bool: { filter: [{ bool: { should, minimum_should_match: 1 } }, notExpired] } };
}

/** The request's own filters: they narrow what `permitted` allows, never widen it. */
export function narrowing(request: SearchRequest): object[] {
  const filters: object[] = [];
  if (request.conversation !== undefined) filters.push({ term: { conversation: request.conversation } });
  if (request.fromUser !== undefined) filters.push({ term: { fromUser: request.fromUser } });
  if (request.kind !== undefined) filters.push({ term: { kind: request.kind } });
  if (request.fromMs !== undefined || request.toMs !== undefined) {
    filters.push({ range: { sentAtMs: { gte: request.fromMs, lte: request.toMs } } });
  }
  return filters;
}
