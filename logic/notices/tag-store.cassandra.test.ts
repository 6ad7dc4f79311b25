import { connectCassandra } from '../../lib/cassandra.ts';
import { engines } from '../../test/engines.ts';
import { CassandraTagStore } from './tag-store.cassandra.ts';
import { tagStoreContract } from './tag-store.contract.ts';

// Real Cassandra, never skipped: an unreachable node fails these tests. App ids and users are fresh per run.
tagStoreContract('cassandra', async () => {
  const client = await connectCassandra((await engines('cassandra')).cassandra, { migrate: true });
  return { store: new CassandraTagStore(client), close: () => client.shutdown() };
});
