import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Closeable } from '../../lib/lifecycle.ts';

/** An HTTP server on host:port for `handlers`, in turn (what none takes is a 404 that echoes nothing). */
export async function serveHttp(
  handlers: ((req: IncomingMessage, res: ServerResponse) => boolean)[],
  host: string,
  port: number,
): Promise<Closeable & { port: number }> {
  const server = createServer((req, res) => {
    for (const handle of handlers) if (handle(req, res)) return;
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ code: 'NOT_FOUND', message: 'no such endpoint' }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
