import { clusterTarget, startTestCluster } from './cluster-harness.ts';
import { mobilePushSuite } from './mobile-push.suite.ts';

mobilePushSuite('cluster: push jobs through Kafka to the push process', async (settings) => {
  const env = Object.fromEntries(
    Object.entries(settings).map(([k, v]) => [`IM_${k.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`, String(v)]),
  );
  const cluster = await startTestCluster(env);
  return {
    ...clusterTarget(cluster),
    metrics: async () =>
      (await Promise.all(cluster.metricsUrls().map(async (m) => (await fetch(m)).text()))).join('\n'),
    adminUrl: cluster.noticeUrl,
    operatorToken: cluster.operatorToken,
  };
});
