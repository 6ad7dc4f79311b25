import { ImError } from '../lib/errors.ts';
import { parseQueryText, type QueryText } from './query-text.ts';
import { MAX_SEARCH_LIMIT, type SearchRequest } from './search-index.ts';

const ORDERS = new Set(['newest', 'relevance']);
const KINDS = new Set(['dm', 'group', 'notice']);
/** Conversation ids and user ids are short (lib/conversation.ts); anything longer cannot match. */
const MAX_ID_CHARS = 200;

/**
 * A request's parts checked as an adapter receives them, whoever built it (gateway, HTTP, a test): every failure is
 * INVALID_ARGUMENT naming the field. Returns the query's words.
 */
export function checkSearchRequest(request: SearchRequest): QueryText {
  const fail = (field: string, what: string) => new ImError('INVALID_ARGUMENT', `search ${what}`, { field });
  if (typeof request.user !== 'string' || request.user === '' || request.user.length > MAX_ID_CHARS)
    throw fail('user', 'needs a user');
  if (!Number.isSafeInteger(request.limit) || request.limit < 1 || request.limit > MAX_SEARCH_LIMIT)
    throw fail('limit', `limit must be 1-${MAX_SEARCH_LIMIT}`);
  if (!ORDERS.has(request.order)) throw fail('order', 'order must be "newest" or "relevance"');
  if (request.kind !== undefined && !KINDS.has(request.kind)) throw fail('kind', 'kind must be dm, group or notice');
  for (const field of ['conversation', 'fromUser'] as const) {
    const value = request[field];
    if (value !== undefined && (typeof value !== 'string' || value.length > MAX_ID_CHARS))
      throw fail(field, `${field} must be an id`);
  }
  for (const field of ['fromMs', 'toMs'] as const) {
    const value = request[field];
    if (value !== undefined && (!Number.isSafeInteger(value) || value < 0))
      throw fail(field, `${field} must be a time in ms since the epoch`);
  }
  return parseQueryText(request.text);
}
