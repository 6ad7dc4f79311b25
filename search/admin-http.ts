import { HttpRoutes } from '../lib/http-routes.ts';
import { operatorHttpHandler, type OperatorRoute } from '../lib/operator-http.ts';
import type { ReindexApi, ReindexStatus } from './reindex-job.ts';

/**
 * The operator's view of search over HTTP (`Authorization: Bearer <operator token>`): `POST
 * /v1/admin/search/reindex` starts rebuilding the index from the inbox store and answers at once (`started: false`
 * while one runs already), `GET` tells how far it got.
 */
export function searchAdminHttpHandler(api: ReindexApi, operatorToken: string) {
  const routes = new HttpRoutes<OperatorRoute>();
  routes.on('POST', '/v1/admin/search/reindex', async () => {
    const { started, status } = await api.startReindex();
    return { started, ...statusJson(status) };
  });
  routes.on('GET', '/v1/admin/search/reindex', async () => statusJson(await api.getReindex()));
  return operatorHttpHandler(routes, operatorToken, 1024);
}

function statusJson(s: ReindexStatus) {
  return {
    state: s.state,
    scanned: s.scanned,
    applied: s.applied,
    started_at_ms: s.startedAtMs,
    finished_at_ms: s.finishedAtMs,
    ...(s.error ? { error: s.error } : {}),
  };
}
