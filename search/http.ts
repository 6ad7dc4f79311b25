import type { IncomingMessage, ServerResponse } from 'node:http';
import { echo } from '../lib/echo.ts';
import { ImError } from '../lib/errors.ts';
import { sendError, sendJson } from '../lib/http.ts';
import type { TokenVerifier } from '../lib/token.ts';
import { kindOf, orderOf, type SearchApi, type SearchQuery } from './service.ts';
import { jsonOfPage } from './wire.ts';

export const SEARCH_HTTP_PATH = '/v1/search';

const PARAMS: readonly string[] = [
  'q',
  'conversation',
  'from_user',
  'from_ms',
  'to_ms',
  'kind',
  'order',
  'limit',
  'cursor',
];

/**
 * `GET /v1/search?q=words&conversation=&from_user=&from_ms=&to_ms=&kind=&order=&limit=&cursor=` with
 * `Authorization: Bearer <user token>`, answered `{hits, next}` in JSON (`next` absent when no more may follow). The
 * user is the token's. Errors are `{code, message, field?}`: 401 without a valid token, 400 INVALID_ARGUMENT naming
 * the parameter at fault (an unknown or repeated one too: a misspelt filter would otherwise widen the search), 429
 * RATE_LIMITED with Retry-After past the user's searches per second, 405 for another method.
 */
export function searchHttpHandler(search: SearchApi, verify: TokenVerifier) {
  return (req: IncomingMessage, res: ServerResponse): boolean => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== SEARCH_HTTP_PATH) return false;
    serve(req, res, url.searchParams, search, verify).catch((err: unknown) => sendError(res, err));
    return true;
  };
}

async function serve(
  req: IncomingMessage,
  res: ServerResponse,
  params: URLSearchParams,
  search: SearchApi,
  verify: TokenVerifier,
): Promise<void> {
  if (req.method !== 'GET') {
    return sendError(res, new ImError('METHOD_NOT_ALLOWED', `${SEARCH_HTTP_PATH} takes GET`), { allow: 'GET' });
  }
  const auth = req.headers.authorization;
  if (!auth?.startsWith('Bearer ')) throw new ImError('UNAUTHORIZED', 'missing Authorization: Bearer <token>');
  const claims = await verify(auth.slice('Bearer '.length).trim());
  const page = await search.search(claims.sub, queryOfParams(params));
  sendJson(res, 200, jsonOfPage(page));
}

function queryOfParams(params: URLSearchParams): SearchQuery {
  const seen = new Set<string>();
  for (const name of params.keys()) {
    if (!PARAMS.includes(name)) {
      throw new ImError('INVALID_ARGUMENT', `unknown parameter ${echo(name)} (parameters: ${PARAMS.join(', ')})`, {
        field: [...name].slice(0, 40).join(''),
      });
    }
    if (seen.has(name)) throw new ImError('INVALID_ARGUMENT', `parameter ${name} given twice`, { field: name });
    seen.add(name);
  }
  const text = (name: string) => {
    const value = params.get(name);
    return value === null || value === '' ? undefined : value;
  };
  const query: SearchQuery = { text: params.get('q') ?? '' };
  const conversation = text('conversation');
  if (conversation !== undefined) query.conversation = conversation;
  const fromUser = text('from_user');
  if (fromUser !== undefined) query.fromUser = fromUser;
  const fromMs = integerOf(text('from_ms'), 'from_ms');
  if (fromMs !== undefined) query.fromMs = fromMs;
  const toMs = integerOf(text('to_ms'), 'to_ms');
  if (toMs !== undefined) query.toMs = toMs;
  const kind = kindOf(text('kind'));
  if (kind) query.kind = kind;
  const order = orderOf(text('order'));
  if (order) query.order = order;
  const limit = integerOf(text('limit'), 'limit');
  if (limit !== undefined) query.limit = limit;
  const cursor = text('cursor');
  if (cursor !== undefined) query.cursor = cursor;
  return query;
}

function integerOf(value: string | undefined, field: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,16}$/.test(value)) throw new ImError('INVALID_ARGUMENT', `${field} must be a whole number`, { field });
  return Number(value);
}
