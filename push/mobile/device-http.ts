import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import type { PushDevice } from '../../proto/gen/im/v1/client.pb.ts';
import { ImError } from '../../lib/errors.ts';
import { readBody, sendError, sendJson } from '../../lib/http.ts';
import { parseJsonBody } from '../../lib/json-body.ts';
import type { TokenVerifier } from '../../lib/token.ts';
import type { PushApi } from '../api.ts';

export const DEVICE_HTTP_PATH = '/v1/push/device';

const registration = z
  .object({
    platform: z.string().max(16),
    token: z.string().max(4096),
    topic: z.string().max(256).default(''),
    environment: z.string().max(16).default(''),
    locale: z.string().max(64).default(''),
    previews: z.boolean().default(false),
  })
  .strict();

/**
 * A device's push registration over HTTP, for an app that registers before (or without) opening the WebSocket:
 * `PUT /v1/push/device` with the device's own `Authorization: Bearer <token>` and a JSON body
 * `{platform, token, topic, environment, locale, previews}`; `DELETE` at logout. Answers the PushDevice as JSON.
 */
export function deviceHttpHandler(push: Pick<PushApi, 'registerDevice' | 'unregisterDevice'>, verify: TokenVerifier) {
  return (req: IncomingMessage, res: ServerResponse): boolean => {
    if (new URL(req.url ?? '/', 'http://localhost').pathname !== DEVICE_HTTP_PATH) return false;
    serve(req, res, push, verify).catch((err: unknown) => sendError(res, err));
    return true;
  };
}

async function serve(
  req: IncomingMessage,
  res: ServerResponse,
  push: Pick<PushApi, 'registerDevice' | 'unregisterDevice'>,
  verify: TokenVerifier,
): Promise<void> {
  if (req.method !== 'PUT' && req.method !== 'DELETE') {
    return sendError(res, new ImError('METHOD_NOT_ALLOWED', `${DEVICE_HTTP_PATH} takes PUT or DELETE`), {
      allow: 'PUT, DELETE',
    });
  }
  const auth = req.headers.authorization;
  if (!auth?.startsWith('Bearer ')) throw new ImError('UNAUTHORIZED', 'missing Authorization: Bearer <token>');
  const { sub: user, dev: device } = await verify(auth.slice('Bearer '.length).trim());
  const body = await readBody(req, 16 * 1024);
  if (req.method === 'DELETE') return sendJson(res, 200, json(await push.unregisterDevice({ user, device })));
  const parsed = parseJsonBody(registration, body);
  sendJson(res, 200, json(await push.registerDevice({ user, device, registration: parsed })));
}

function json(d: PushDevice) {
  return {
    device: d.device,
    platform: d.platform,
    registered: d.registered,
    environment: d.environment,
    previews: d.previews,
    updated_at_ms: d.updatedAtMs,
  };
}
