import { clusterTarget, startTestCluster } from './cluster-harness.ts';
import { noticesSuite } from './notices.suite.ts';

noticesSuite('cluster: a process per service, devices over 2 gateways', async () => {
  const cluster = await startTestCluster();
  return { ...clusterTarget(cluster), noticeUrl: cluster.noticeUrl, operatorToken: cluster.operatorToken };
});
