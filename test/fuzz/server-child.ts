// The server `npm run fuzz` attacks, in a process of its own so its memory is measured apart from the attacker's:
// embedded mode (every service, one process) on loopback with a data directory on disk, so stored messages do
// not count as memory. Started with --expose-gc; speaks to its parent over the IPC channel (fuzz-server.ts):
//   → {kind: 'ready', url, operatorToken}                            once listening
//   ← {kind: 'token', id, user, device}   → {kind: 'token', id, token}  a dev token
//   ← {kind: 'memory', id}                → {kind: 'memory', id, heapUsed, rss}   after a full GC
//   ← {kind: 'stop'}                                                  closes the server and exits
import { startServer } from '../e2e/harness.ts';

export type ToChild =
  { kind: 'token'; id: number; user: string; device: string } | { kind: 'memory'; id: number } | { kind: 'stop' };
export type FromChild =
  | { kind: 'ready'; url: string; operatorToken: string }
  | { kind: 'token'; id: number; token: string }
  | { kind: 'memory'; id: number; heapUsed: number; rss: number };

async function main(): Promise<void> {
  const dataDir = process.env.IM_FUZZ_DATA_DIR;
  if (!dataDir || !process.send) throw new Error('server-child: run by fuzz-server.ts (IPC and IM_FUZZ_DATA_DIR)');
  const server = await startServer({ dataDir });
  const send = (m: FromChild) => process.send?.(m);
  process.on('message', (m: ToChild) => {
    if (m.kind === 'token') send({ kind: 'token', id: m.id, token: server.token(m.user, m.device) });
    else if (m.kind === 'memory') {
      globalThis.gc?.();
      const { heapUsed, rss } = process.memoryUsage();
      send({ kind: 'memory', id: m.id, heapUsed, rss });
    } else void server.close().then(() => process.exit(0));
  });
  // The parent gone (killed, crashed): nothing is left to answer.
  process.on('disconnect', () => void server.close().then(() => process.exit(0)));
  send({ kind: 'ready', url: server.gateway.url, operatorToken: server.operator.token });
}

main().catch((err: unknown) => {
  process.stderr.write(`server-child: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
