import { connectCassandra } from '../../lib/cassandra.ts';
import { engines } from '../../test/engines.ts';
import { CassandraKeyDirectory } from './key-directory.cassandra.ts';
import { keyDirectoryContract } from './key-directory.contract.ts';

// Real Cassandra, never skipped: an unreachable node fails these tests. Users are fresh per run.
keyDirectoryContract('cassandra', async () => {
  const client = await connectCassandra((await engines('cassandra')).cassandra, { migrate: true });
  return { store: new CassandraKeyDirectory(client), close: () => client.shutdown() };
});
