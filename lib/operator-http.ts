import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBody, sendError, sendJson } from './http.ts';
import type { HttpRoutes } from './http-routes.ts';
import { checkOperator } from './operator-auth.ts';

/** An operator route: the query and the raw body in, the JSON answer out (an ImError is sent as its status). */
export type OperatorRoute = (call: { query: URLSearchParams; body: Buffer }) => Promise<unknown>;

/**
 * The handler of an operator API for a server's API list: true if it took the request. Every route needs the
 * operator token (`Authorization: Bearer`), checked after the body is read whole (at most `maxBodyBytes`).
 */
export function operatorHttpHandler(
  routes: HttpRoutes<OperatorRoute>,
  operatorToken: string,
  maxBodyBytes = 64 * 1024,
) {
  return (req: IncomingMessage, res: ServerResponse): boolean => {
    const matched = routes.match(req, res);
    if (matched === undefined) return false;
    if (matched === 'answered') return true;
    (async () => {
      const body = await readBody(req, maxBodyBytes);
      checkOperator(req, operatorToken);
      sendJson(res, 200, await matched.route({ query: matched.url.searchParams, body }));
    })().catch((err: unknown) => sendError(res, err));
    return true;
  };
}
