import { connectCassandra } from '../../lib/cassandra.ts';
import { engines } from '../../test/engines.ts';
import { CassandraRevocationStore } from './revocation-store.cassandra.ts';
import { revocationStoreContract } from './revocation-store.contract.ts';

// Real Cassandra, never skipped: an unreachable node fails these tests. Users are fresh per run.
revocationStoreContract('cassandra', async () => {
  const client = await connectCassandra((await engines('cassandra')).cassandra, { migrate: true });
  return { store: new CassandraRevocationStore(client), close: () => client.shutdown() };
});
