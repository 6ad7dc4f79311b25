import { clusterTarget, startTestCluster } from './cluster-harness.ts';
import { keysSuite } from './keys.suite.ts';

keysSuite('cluster: the directory in Cassandra, devices over 2 gateways', async () =>
  clusterTarget(await startTestCluster()),
);
