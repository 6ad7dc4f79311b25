import { clusterTarget, startTestCluster } from './cluster-harness.ts';
import { groupsSuite } from './groups.suite.ts';

// A group size limit the suite can reach in cluster mode (the product default is far higher).
groupsSuite('cluster: a process per service, devices over 2 gateways', async () =>
  clusterTarget(await startTestCluster({ IM_MAX_GROUP_MEMBERS: '200' })),
);
