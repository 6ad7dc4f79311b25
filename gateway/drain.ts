import type { Server } from 'node:http';
import { CloseCode } from './connection.ts';
import type { ConnectionRegistry } from './connections.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Graceful drain: ask every client to reconnect (elsewhere), each after a random wait so they do not all come back
 * at once; wait up to `timeoutMs` for them to go; close the rest; then stop the HTTP server.
 */
export async function drain(registry: ConnectionRegistry, server: Server, timeoutMs: number): Promise<void> {
  for (const conn of registry.values()) {
    conn.send({
      requestId: 0,
      body: {
        $case: 'reconnect',
        value: { reason: 'server shutting down', retryAfterMs: Math.floor(Math.random() * 1000) },
      },
    });
  }
  const deadline = Date.now() + timeoutMs;
  while (registry.size > 0 && Date.now() < deadline) await sleep(20);
  for (const conn of registry.values()) conn.close(CloseCode.goingAway, 'server shutting down');
  while (registry.size > 0 && Date.now() < deadline + 1_500) await sleep(20);
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeAllConnections();
  await closed;
}
