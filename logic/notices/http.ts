import type { IncomingMessage, ServerResponse } from 'node:http';
import { ImError } from '../../lib/errors.ts';
import { readBody, sendError, sendJson } from '../../lib/http.ts';
import { HttpRoutes, type HttpMethod, type Matched } from '../../lib/http-routes.ts';
import { echo } from '../../lib/echo.ts';
import { checkOperator } from '../../lib/operator-auth.ts';
import type { Apps } from './apps.ts';
import { newAppRequest, sendNoticeRequest, snakeJson, tagUsersRequest } from './notice-json.ts';
import type { NonceStore } from './nonce-store.ts';
import type { NoticeApi } from './notices.ts';
import { verifySignature } from './request-signature.ts';

/** A multicast of 10,000 user ids fits with room to spare. */
const MAX_BODY_BYTES = 1024 * 1024;

export interface NoticeHttpDeps {
  notices: NoticeApi;
  apps: Apps;
  nonces: NonceStore;
  /** What an operator presents as `Authorization: Bearer <token>` to manage apps. */
  operatorToken: string;
  now?: () => number;
}

/** What a route gets: who called (the app, for signed routes, or the one the operator names), its parameters, query and body. */
interface Call {
  appId: string;
  params: Record<string, string>;
  query: URLSearchParams;
  body: Buffer;
}

interface Route {
  /**
   * `app`: signed by an app (request-signature.ts); `operator`: the operator's bearer token; `operator-as-app`: the
   * operator's bearer token, acting as the app named by the path's `:id` (the admin console sends notices so).
   */
  auth: 'app' | 'operator' | 'operator-as-app';
  handle: (call: Call) => Promise<[status: number, value: unknown]>;
}

/**
 * The notice API over HTTP with JSON, for business systems in any language (every request signed by its app), and
 * the operator's app registry. Returns a handler for the gateway's HTTP server list (embedded mode) or a server of
 * its own (cluster mode): true if the path is one of its own.
 */
export function noticeHttpHandler(deps: NoticeHttpDeps) {
  const routes = new HttpRoutes<Route>();
  const on = (method: HttpMethod, path: string, route: Route) => routes.on(method, path, route);
  const { notices, apps } = deps;
  const status = (s: number) => (value: unknown) => [s, snakeJson(value)] as [number, unknown];

  const send: Route['handle'] = async ({ appId, body }) => {
    const result = await notices.sendNotice(sendNoticeRequest(appId, body));
    return status(result.created ? 201 : 200)(result);
  };
  const list: Route['handle'] = async ({ appId, query }) =>
    status(200)(
      await notices.listNotices({
        appId,
        // `status` is what the API's first description called it.
        state: query.get('state') ?? query.get('status') ?? '',
        after: query.get('after') ?? '',
        limit: queryInt(query, 'limit'),
      }),
    );
  const get: Route['handle'] = async ({ appId, params }) =>
    status(200)(await notices.getNotice({ appId, id: params.notice! }));
  const cancel: Route['handle'] = async ({ appId, params }) =>
    status(200)(await notices.cancelNotice({ appId, id: params.notice! }));

  // The same four as the app itself (its scopes and rates apply), signed by the app or asked by the operator for it.
  for (const [auth, base] of [
    ['app', '/v1/notices'],
    ['operator-as-app', '/v1/admin/apps/:id/notices'],
  ] as const) {
    on('POST', base, { auth, handle: send });
    on('GET', base, { auth, handle: list });
    on('GET', `${base}/:notice`, { auth, handle: get });
    on('DELETE', `${base}/:notice`, { auth, handle: cancel });
  }
  on('POST', '/v1/tags/:tag', {
    auth: 'app',
    handle: async ({ appId, params, body }) =>
      status(200)(await notices.tagUsers(tagUsersRequest(appId, params.tag!, body))),
  });
  on('POST', '/v1/admin/apps', {
    auth: 'operator',
    handle: async ({ body }) => status(201)(await apps.createApp(newAppRequest(body))),
  });
  on('GET', '/v1/admin/apps', {
    auth: 'operator',
    handle: async ({ query }) => {
      const page = await apps.listApps({
        after: query.get('after') ?? '',
        limit: queryInt(query, 'limit') || undefined,
      });
      return status(200)({ apps: page.items, next: page.next ?? '' });
    },
  });
  on('DELETE', '/v1/admin/apps/:id', {
    auth: 'operator',
    handle: async ({ params }) => status(200)(await apps.revokeApp(params.id!)),
  });

  return (req: IncomingMessage, res: ServerResponse): boolean => {
    const matched = routes.match(req, res);
    if (matched === undefined) return false;
    if (matched !== 'answered') serve(req, res, matched, deps).catch((err: unknown) => sendError(res, err));
    return true;
  };
}

async function serve(
  req: IncomingMessage,
  res: ServerResponse,
  { route, params, url }: Matched<Route>,
  deps: NoticeHttpDeps,
): Promise<void> {
  const body = await readBody(req, MAX_BODY_BYTES);
  let appId = '';
  if (route.auth === 'app') appId = await verifyApp(req, body, deps);
  else checkOperator(req, deps.operatorToken);
  if (route.auth === 'operator-as-app') appId = await activeApp(params.id!, deps.apps);
  const [status, value] = await route.handle({
    appId,
    params,
    query: url.searchParams,
    body,
  });
  sendJson(res, status, value);
}

/** The app that signed the request (its signature, window and nonce checked); revoked apps are refused as such. */
async function verifyApp(req: IncomingMessage, body: Buffer, deps: NoticeHttpDeps): Promise<string> {
  return verifySignature(
    { headers: req.headers, method: req.method ?? '', path: req.url ?? '/', body },
    {
      nonces: deps.nonces,
      ...(deps.now ? { now: deps.now } : {}),
      secretOf: async (id) => {
        const found = await deps.apps.secretOf(id);
        if (found?.status === 'revoked') throw new ImError('UNAUTHORIZED', `notices: app ${id} is revoked`);
        return found?.secret;
      },
    },
  );
}

/**
 * The app the operator acts as: NOT_FOUND when there is no such app, FORBIDDEN when it is revoked (the operator is
 * who they say they are, so not the 401 an app's own request would get).
 */
async function activeApp(id: string, apps: Apps): Promise<string> {
  const found = await apps.secretOf(id);
  if (!found) throw new ImError('NOT_FOUND', `app ${echo(id)} not found`);
  if (found.status === 'revoked') throw new ImError('FORBIDDEN', `app ${id} is revoked`);
  return id;
}

function queryInt(query: URLSearchParams, name: string): number {
  const raw = query.get(name);
  if (raw === null || raw === '') return 0;
  if (!/^\d{1,9}$/.test(raw))
    throw new ImError('INVALID_ARGUMENT', `${name} must be a positive integer`, { field: name });
  return Number(raw);
}
