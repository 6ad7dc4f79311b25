import type { IncomingMessage, ServerResponse } from 'node:http';
import Router from 'find-my-way';
import { z } from 'zod';
import { ImError } from '../../lib/errors.ts';
import { readBody, sendError, sendJson } from '../../lib/http.ts';
import { parseJsonBody } from '../../lib/json-body.ts';
import { checkOperator } from '../../lib/operator-auth.ts';
import type { PushApi } from '../api.ts';

type Method = 'GET' | 'POST';
type Handle = (call: { query: URLSearchParams; body: Buffer }) => Promise<unknown>;

const replayBody = z.object({ ids: z.array(z.string().max(64)).min(1).max(500) }).strict();

/**
 * The operator's view of mobile push over HTTP (`Authorization: Bearer <operator token>`): a user's registered
 * devices, the dead letters, and a replay of some of them. Returns a handler for a server's API list: true if it
 * took the request.
 */
export function pushAdminHttpHandler(
  push: Pick<PushApi, 'listDevices' | 'listDeadLetters' | 'replayDeadLetters'>,
  operatorToken: string,
) {
  const router = Router();
  const routes = new Map<string, Partial<Record<Method, Handle>>>();
  const on = (method: Method, path: string, handle: Handle) => {
    routes.set(path, { ...routes.get(path), [method]: handle });
    router.on(method, path, () => undefined, { path });
  };
  on('GET', '/v1/admin/push/devices', async ({ query }) => {
    const user = query.get('user') ?? '';
    if (user === '') throw new ImError('INVALID_ARGUMENT', 'user missing', { field: 'user' });
    const { devices } = await push.listDevices({ user });
    return {
      devices: devices.map((d) => ({
        device: d.device,
        platform: d.platform,
        environment: d.environment,
        previews: d.previews,
        updated_at_ms: d.updatedAtMs,
      })),
    };
  });
  on('GET', '/v1/admin/push/dead-letters', async ({ query }) => {
    const page = await push.listDeadLetters({
      after: query.get('after') ?? '',
      limit: Number(query.get('limit') ?? 0) || 0,
    });
    return {
      dead_letters: page.letters.map((l) => ({
        id: l.id,
        user: l.user,
        device: l.device,
        platform: l.platform,
        reason: l.reason,
        attempts: l.attempts,
        at_ms: l.atMs,
      })),
      next: page.next,
    };
  });
  on('POST', '/v1/admin/push/dead-letters/replay', async ({ body }) => {
    const { ids } = parseJsonBody(replayBody, body);
    return { replayed: (await push.replayDeadLetters({ ids })).replayed };
  });

  return (req: IncomingMessage, res: ServerResponse): boolean => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const found = router.find('GET', url.pathname) ?? router.find('POST', url.pathname);
    if (!found) return false;
    const byMethod = routes.get((found.store as { path: string }).path)!;
    const handle = byMethod[(req.method ?? 'GET').toUpperCase() as Method];
    if (!handle) {
      const allow = Object.keys(byMethod).join(', ');
      sendError(res, new ImError('METHOD_NOT_ALLOWED', `${url.pathname} takes ${allow}`), { allow });
      return true;
    }
    (async () => {
      const body = await readBody(req, 64 * 1024);
      checkOperator(req, operatorToken);
      sendJson(res, 200, await handle({ query: url.searchParams, body }));
    })().catch((err: unknown) => sendError(res, err));
    return true;
  };
}
