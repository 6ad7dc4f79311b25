import { startCluster, type Cluster, type ClusterOptions } from '../../app/cluster.ts';
import { partitionFor } from '../../lib/bus.ts';
import { roomCallsOf, useTestDevKey, type Target } from './harness.ts';

/**
 * Cluster mode for tests: its own ports and Redis key prefix, quiet unless IM_LOG_LEVEL says otherwise (every line
 * the processes print is handed to `options.onLine` too).
 */
export async function startTestCluster(
  env: Record<string, string> = {},
  options: Pick<ClusterOptions, 'logics' | 'gateways' | 'onLine'> = {},
): Promise<Cluster> {
  useTestDevKey();
  const { onLine, ...rest } = options;
  return startCluster({
    ...rest,
    basePort: Number(process.env.IM_TEST_CLUSTER_BASE_PORT ?? 27400),
    env: {
      IM_LOG_LEVEL: process.env.IM_LOG_LEVEL ?? 'warn',
      IM_REDIS_PREFIX: `t${Date.now().toString(36)}:`,
      IM_DRAIN_TIMEOUT_MS: '500',
      ...env,
    },
    onLine: (line) => {
      onLine?.(line);
      if (process.env.IM_LOG_LEVEL) process.stderr.write(`${line}\n`);
    },
    // Always told: a service that dies under a test is the first thing to know when it fails.
    onDeath: (report) => process.stderr.write(`${report}\n`),
  });
}

/** Devices spread over the gateways by a hash of user and device, so one user's devices often sit on different ones. */
export function clusterTarget(cluster: Cluster): Target {
  return {
    urlFor: (user, device) => cluster.gateways[partitionFor(`${user}/${device}`, cluster.gateways.length)]!.url,
    token: (user, device, ttlSec) => cluster.token(user, device, ttlSec),
    roomCalls: async () => (await Promise.all(cluster.gateways.map((g) => roomCallsOf(g.url)))).reduce((a, b) => a + b),
    gatewayCount: cluster.gateways.length,
    close: () => cluster.close(),
  };
}
