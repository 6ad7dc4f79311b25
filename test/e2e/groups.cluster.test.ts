import { clusterTarget, startTestCluster } from './cluster-harness.ts';
import { groupsSuite } from './groups.suite.ts';

// Cluster mode keeps the product's default smallGroupMaxMembers (200).
groupsSuite('cluster: a process per service, devices over 2 gateways', async () =>
  clusterTarget(await startTestCluster()),
);
