import { Gauge } from 'prom-client';
import { registry } from '../lib/metrics.ts';

/** The connection counts of the gateway nodes running in this process (one, but tests may start several). */
const counts = new Set<() => number>();

/** Connections held, read when /metrics is asked (the admin console's live figure). */
export const gatewayConnections = new Gauge({
  name: 'im_gateway_connections',
  help: 'WebSocket connections the gateway nodes of this process hold',
  registers: [registry],
  collect() {
    let sum = 0;
    for (const count of counts) sum += count();
    this.set(sum);
  },
});

/** Counts a node's connections in the gauge until the returned function is called (at the node's close). */
export function countConnections(count: () => number): () => void {
  counts.add(count);
  return () => {
    counts.delete(count);
  };
}
