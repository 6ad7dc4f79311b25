import { connectCassandra } from '../lib/cassandra.ts';
import { engines } from '../test/engines.ts';
import { outcomeStoreContract } from './outcome-store.contract.ts';
import { CassandraOutcomeStore } from './outcome-store.cassandra.ts';

outcomeStoreContract('cassandra', async () => {
  const client = await connectCassandra((await engines('cassandra')).cassandra, { migrate: true });
  return { store: new CassandraOutcomeStore(client), close: () => client.shutdown() };
});
