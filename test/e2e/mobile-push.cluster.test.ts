import { clusterTarget, startTestCluster } from './cluster-harness.ts';
import { mobilePushSuite } from './mobile-push.suite.ts';
import { eventually } from './harness.ts';
import { settingsEnv } from '../fakes/push-providers.ts';

mobilePushSuite(
  'cluster: push jobs through Kafka to the push process',
  async (settings) => {
    const cluster = await startTestCluster(settingsEnv(settings));
    return {
      ...clusterTarget(cluster),
      metrics: async () =>
        (await Promise.all(cluster.metricsUrls().map(async (m) => (await fetch(m)).text()))).join('\n'),
      adminUrl: cluster.noticeUrl,
      operatorToken: cluster.operatorToken,
      crashPushAfter: async (n) => {
        await cluster.kill('push');
        await cluster.start('push', { IM_FAULT_KILL_AFTER_PUSH_JOBS: String(n) });
        const died = eventually(() => !cluster.isRunning('push'), 'the push process killed itself', 30_000);
        return { died, restart: () => cluster.start('push') };
      },
    };
  },
  { crashPush: true },
);
