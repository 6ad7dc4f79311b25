import type { IncomingMessage, ServerResponse } from 'node:http';
import { serveMetrics } from '../lib/metrics.ts';

export interface HttpRoutesDeps {
  /** What /healthz says besides the status. */
  health(): Record<string, unknown>;
  draining(): boolean;
  /** `POST /v1/sync` and any other API: true if it took the request. */
  api: ((req: IncomingMessage, res: ServerResponse) => boolean)[];
}

/** The gateway's plain HTTP requests: health, metrics, then the APIs; anything else is a 404 that echoes nothing. */
export function httpRoutes(deps: HttpRoutesDeps) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? '/').split('?', 1)[0];
    if (path === '/healthz') {
      const draining = deps.draining();
      res.writeHead(draining ? 503 : 200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: draining ? 'draining' : 'ok', ...deps.health() }));
      return;
    }
    if (path === '/metrics') return void serveMetrics(res);
    for (const handle of deps.api) if (handle(req, res)) return;
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ code: 'NOT_FOUND', message: 'no such endpoint' }));
  };
}
