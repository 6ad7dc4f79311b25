import { z } from 'zod';
import { ImError } from '../../lib/errors.ts';
import { HttpRoutes, type HttpMethod } from '../../lib/http-routes.ts';
import { parseJsonBody } from '../../lib/json-body.ts';
import { operatorHttpHandler, type OperatorRoute } from '../../lib/operator-http.ts';
import type { PushApi } from '../api.ts';

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
  const routes = new HttpRoutes<OperatorRoute>();
  const on = (method: HttpMethod, path: string, handle: OperatorRoute) => routes.on(method, path, handle);
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
      limit: limitOf(query),
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
  return operatorHttpHandler(routes, operatorToken);
}

/**
 * The `limit` query parameter: absent or empty for the default, else a whole number, as the notice API takes it.
 * Anything else is refused: a negative or fractional one (`limit=-3`, `limit=1.5`) once went on to the push
 * service, which cannot encode it as its uint32 in cluster mode, and the operator got a 500.
 */
function limitOf(query: URLSearchParams): number {
  const raw = query.get('limit') ?? '';
  if (raw === '') return 0;
  if (!/^\d{1,9}$/.test(raw)) throw new ImError('INVALID_ARGUMENT', 'limit must be a whole number', { field: 'limit' });
  return Number(raw);
}
