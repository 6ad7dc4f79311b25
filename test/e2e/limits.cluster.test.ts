import { clusterTarget, startTestCluster } from './cluster-harness.ts';
import { limitsSuite } from './limits.suite.ts';

limitsSuite('cluster: a process per service, devices over 2 gateways', async () =>
  clusterTarget(await startTestCluster()),
);
