import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { isId } from '../lib/conversation.ts';
import { ImError } from '../lib/errors.ts';
import { readBody, sendError, sendJson } from '../lib/http.ts';
import { parseJsonBody } from '../lib/json-body.ts';

export const DEV_SIGN_IN_PATH = '/v1/dev/token';

const request = z.strictObject({
  user: z.string().refine(isId, 'a user id is 1-64 characters of [A-Za-z0-9_.@-]'),
  device: z.string().refine(isId, 'a device id is 1-64 characters of [A-Za-z0-9_.@-]'),
});

/** Requests from this machine only: anyone who can reach the endpoint can be anyone. */
function fromLoopback(req: IncomingMessage): boolean {
  const address = req.socket.remoteAddress ?? '';
  return address === '127.0.0.1' || address === '::1' || address.startsWith('::ffff:127.');
}

/**
 * `POST /v1/dev/token {user, device}` → `{token, expires_in_sec}`: the embedded server's dev sign-in, so the web
 * client can be tried without an auth server. Served only where the dev key signs tokens, and only to this machine.
 */
export function devSignInHandler(sign: (user: string, device: string, ttlSec: number) => string, ttlSec: number) {
  return (req: IncomingMessage, res: ServerResponse): boolean => {
    if ((req.url ?? '').split('?', 1)[0] !== DEV_SIGN_IN_PATH) return false;
    (async () => {
      if (req.method !== 'POST') throw new ImError('METHOD_NOT_ALLOWED', `${DEV_SIGN_IN_PATH} takes POST`);
      if (!fromLoopback(req)) throw new ImError('FORBIDDEN', 'dev sign-in is served to this machine only');
      const { user, device } = parseJsonBody(request, await readBody(req, 4096));
      sendJson(res, 200, { token: sign(user, device, ttlSec), expires_in_sec: ttlSec });
    })().catch((err: unknown) => sendError(res, err, req.method === 'POST' ? {} : { allow: 'POST' }));
    return true;
  };
}
