import { createServer } from 'node:http';
import type { Closeable } from '../../lib/lifecycle.ts';
import { serveMetrics } from '../../lib/metrics.ts';

/** GET /healthz on 127.0.0.1:port: 200 {"status":"ok"} when `check` resolves, 503 with the reason when not. */
export async function serveHealth(
  service: string,
  host: string,
  port: number,
  check: () => Promise<void>,
): Promise<Closeable> {
  const server = createServer((req, res) => {
    if (req.url === '/metrics') return void serveMetrics(res);
    if (req.url !== '/healthz') {
      res
        .writeHead(404, { 'content-type': 'application/json' })
        .end('{"code":"NOT_FOUND","message":"try /healthz or /metrics"}');
      return;
    }
    check().then(
      () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'ok', service })),
      (err: unknown) =>
        res.writeHead(503, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            status: 'unavailable',
            service,
            reason: err instanceof Error ? err.message : String(err),
          }),
        ),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  return { close: () => new Promise((resolve) => server.close(() => resolve())) };
}
