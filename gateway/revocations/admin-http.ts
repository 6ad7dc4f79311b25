import { z } from 'zod';
import { isId } from '../../lib/conversation.ts';
import { HttpRoutes } from '../../lib/http-routes.ts';
import { parseJsonBody } from '../../lib/json-body.ts';
import { operatorHttpHandler, type OperatorRoute } from '../../lib/operator-http.ts';
import type { Revocations } from './revocations.ts';
import { ALL_DEVICES, type RevocationStore } from './revocation-store.ts';

const id = z.string().refine(isId, 'must be an id: 1-64 of A-Z a-z 0-9 _ . @ -');
const revokeBody = z.object({ user: id, device: id.optional() }).strict();

/**
 * The operator's revocation of sign-ins over HTTP (a lost phone): `POST /v1/admin/auth/revocations` with
 * `{user, device?}` refuses every token of that device (or, without one, of every device of the user) issued until
 * now, at connect and on the HTTP APIs; `GET` lists what is in force. A revoked user signs in again with a new token.
 */
export function revocationsHttpHandler(
  revocations: Pick<Revocations, 'revoke'>,
  store: Pick<RevocationStore, 'active'>,
  operatorToken: string,
) {
  const routes = new HttpRoutes<OperatorRoute>();
  routes.on('POST', '/v1/admin/auth/revocations', async ({ body }) => {
    const { user, device } = parseJsonBody(revokeBody, body);
    const r = await revocations.revoke(user, device ?? ALL_DEVICES);
    return { user: r.user, device: device ?? null, revoked_at_ms: r.atMs };
  });
  routes.on('GET', '/v1/admin/auth/revocations', async () => ({
    revocations: (await store.active(Date.now())).map((r) => ({
      user: r.user,
      device: r.device === ALL_DEVICES ? null : r.device,
      revoked_at_ms: r.atMs,
    })),
  }));
  return operatorHttpHandler(routes, operatorToken, 16 * 1024);
}
