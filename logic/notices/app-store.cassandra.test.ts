import { connectCassandra } from '../../lib/cassandra.ts';
import { engines } from '../../test/engines.ts';
import { CassandraAppStore } from './app-store.cassandra.ts';
import { appStoreContract } from './app-store.contract.ts';

// Real Cassandra, never skipped: an unreachable node fails these tests. App ids are fresh per run, because the
// registry's one partition is shared with whoever else runs tests at the same time.
appStoreContract('cassandra', async () => {
  const client = await connectCassandra((await engines('cassandra')).cassandra, { migrate: true });
  return { store: new CassandraAppStore(client), close: () => client.shutdown() };
});
