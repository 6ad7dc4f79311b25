import { clusterTarget, startTestCluster } from './cluster-harness.ts';
import { encryptedSuite } from './encrypted.suite.ts';

encryptedSuite('cluster: devices over 2 gateways, keys in Cassandra', async () =>
  clusterTarget(await startTestCluster()),
);
